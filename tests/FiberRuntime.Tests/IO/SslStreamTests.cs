using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FiberRuntime.IO;

namespace FiberRuntime.Tests.IO;

/// <summary>SslStream's synchronous API over FiberNetworkStream: TLS in plain blocking code, cooperatively.</summary>
public sealed class SslStreamTests
{
    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        using X509Certificate2 cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        // round-trip through PKCS#12 so the private key is usable by the TLS stack
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }

    [Fact]
    public void Both_ends_of_a_TLS_connection_run_as_fibers_of_one_hub()
    {
        using X509Certificate2 certificate = SelfSigned();
        var log = new List<string>();
        Hub.Run(() =>
        {
            using var listener = new FiberTcpListener(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Start();
            Fiber server = Fiber.Spawn(() =>
            {
                using var tls = new SslStream(new FiberNetworkStream(listener.Accept()));
                tls.AuthenticateAsServer(certificate, clientCertificateRequired: false, SslProtocols.Tls12 | SslProtocols.Tls13, checkCertificateRevocation: false);
                using var reader = new StreamReader(tls, Encoding.UTF8);
                using var writer = new StreamWriter(tls, new UTF8Encoding(false)) { AutoFlush = true };
                string? line;
                while ((line = reader.ReadLine()) is not null) writer.WriteLine($"secure {line}");
            });
            Fiber client = Fiber.Spawn(() =>
            {
                var socket = new FiberSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Connect(listener.LocalEndPoint);
                using var tls = new SslStream(new FiberNetworkStream(socket), false,
                    (_, cert, _, _) => cert?.GetCertHashString() == certificate.GetCertHashString());   // pin the test certificate
                tls.AuthenticateAsClient("localhost");
                log.Add($"protocol {(tls.SslProtocol is SslProtocols.Tls12 or SslProtocols.Tls13 ? "ok" : tls.SslProtocol.ToString())}");
                using var reader = new StreamReader(tls, Encoding.UTF8);
                using var writer = new StreamWriter(tls, new UTF8Encoding(false)) { AutoFlush = true };
                foreach (string word in new[] { "one", "two" })
                {
                    writer.WriteLine(word);
                    log.Add(reader.ReadLine()!);
                }
                socket.Shutdown(SocketShutdown.Send);
            });
            client.Get();
            server.Get();
        });
        Assert.Equal(["protocol ok", "secure one", "secure two"], log);
    }
}
