using System.Text;

namespace FiberRuntime.Tests;

/// <summary>A response as read off the wire.</summary>
public sealed record HttpResponse(int Status, Dictionary<string, string> Headers, byte[] Body)
{
    public string Text => Encoding.UTF8.GetString(Body);

    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out string? v) ? v : null;
}
