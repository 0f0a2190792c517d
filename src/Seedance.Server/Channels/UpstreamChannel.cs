using Seedance.Server.Infrastructure;
using Seedance.Server.Providers;

namespace Seedance.Server.Channels;

/// <summary>Where a channel's settings come from: the configuration (read-only at runtime) or the database (the admin API).</summary>
public enum ChannelSource { Configuration, Database }

/// <summary>
/// An upstream account in rotation: its settings, its provider and its health. An edit makes a new one with the
/// same <see cref="ChannelHealth"/>, so a channel's record outlives a change of its settings or key.
/// </summary>
public sealed class UpstreamChannel(ChannelOptions options, IVideoProvider provider, ChannelHealth health, ChannelSource source, long version = 0)
{
    public ChannelOptions Options { get; } = options;
    public IVideoProvider Provider { get; } = provider;
    public ChannelHealth Health { get; } = health;
    public ChannelSource Source { get; } = source;
    /// <summary>The stored channel's version this was built from (0 for a configured one).</summary>
    public long Version { get; } = version;
    public string Name => Options.Name;

    public bool IsCoolingDown(DateTime now) => Health.IsCoolingDown(now);

    public void RecordSuccess() => Health.RecordSuccess();

    /// <summary>A failure that is the channel's: enough of them in a row take it out of rotation for the cool-down.</summary>
    public void RecordFailure(string what, DateTime now) => Health.RecordFailure(what, now, Options);
}
