// The HttpServer sample's endpoints served by ASP.NET Core: Kestrel and a minimal API, configured as the
// TechEmpower-style benchmarks do (slim builder, no logging), for `benchmarks -- http`.
//   dotnet run -c Release --project samples/KestrelServer -- --port N
// Prints "listening on <endpoint>" once it accepts connections; stops on Ctrl+C / SIGTERM and prints "stopped".
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

int i = Array.IndexOf(args, "--port");
int port = i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : 8080;

WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
WebApplication app = builder.Build();

app.MapGet("/plaintext", () => Results.Text("Hello, World!", "text/plain"));
app.MapGet("/json", () => Results.Json(new Message("Hello, World!"), AppJson.Default.Message));
app.MapPost("/echo", async (HttpContext context) =>
{
    context.Response.ContentType = "application/octet-stream";
    if (context.Request.ContentLength is { } length) context.Response.ContentLength = length;
    await context.Request.Body.CopyToAsync(context.Response.Body);
});

await app.StartAsync();
string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
Console.WriteLine($"listening on {new Uri(address).Host}:{new Uri(address).Port}");
await app.WaitForShutdownAsync();
Console.WriteLine("stopped");

internal sealed record Message(string message);

[System.Text.Json.Serialization.JsonSerializable(typeof(Message))]
internal sealed partial class AppJson : System.Text.Json.Serialization.JsonSerializerContext;
