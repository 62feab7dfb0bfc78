namespace FiberRuntime.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GcTortureCollection
{
    public const string Name = "GC torture (child processes, run alone)";
}
