namespace Seedance.Server.Tests.Faults;

/// <summary>
/// The fault tests that bound how fast the server answers while a service is away (PostgreSQL restarting: 2 s), or that
/// need a transfer to beat a one-second limit (the upstream body limits), or mount a filesystem: one at a time, after the
/// others, since two cores shared with a dozen other servers under test cannot promise those times. The fault tests with
/// bounds of tens of seconds (the store and Redis outages) run beside the others. None depends on the pass's database or
/// store, so each runs in one pass only: PostgreSQL's restart in the PostgreSQL pass, the rest in the SQLite pass.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultCollection
{
    public const string Name = "Faults";
}
