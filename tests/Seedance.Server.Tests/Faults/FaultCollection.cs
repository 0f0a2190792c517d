namespace Seedance.Server.Tests.Faults;

/// <summary>
/// The fault injection tests run one at a time, after the others: they stop, kill, fill and hold services on purpose,
/// and bound how fast the server answers meanwhile (2 s), which two cores shared with a dozen other servers under
/// test cannot promise.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultCollection
{
    public const string Name = "Faults";
}
