using System.Diagnostics;

namespace Seedance.Bench.Nodes;

/// <summary>
/// CPU time used so far by each part of a setup, as Linux counts it: the server nodes, every PostgreSQL process
/// (the server's connections and PostgreSQL's own workers), this harness, and the whole machine.
/// </summary>
public sealed record CpuSnapshot(TimeSpan Nodes, TimeSpan Postgres, TimeSpan Harness, long MachineBusyTicks, long MachineTicks, long ContextSwitches)
{
    /// <summary>Clock ticks per second of <c>/proc</c>'s CPU times (USER_HZ, 100 on every Linux this runs on).</summary>
    private const double TicksPerSecond = 100;

    public static CpuSnapshot Take(IEnumerable<ServerUnderTest> nodes)
    {
        var (busy, all, switches) = Machine();
        return new CpuSnapshot(
            nodes.Aggregate(TimeSpan.Zero, (sum, n) => sum + n.CpuTime),
            TimeSpan.FromSeconds(ProcessTicks("postgres") / TicksPerSecond),
            Process.GetCurrentProcess().TotalProcessorTime,
            busy, all, switches);
    }

    /// <summary>What each part used from <paramref name="start"/> to this snapshot, per request of <paramref name="requests"/>.</summary>
    public CpuUse Since(CpuSnapshot start, int requests) => new(
        PerRequest(Nodes - start.Nodes, requests),
        PerRequest(Postgres - start.Postgres, requests),
        PerRequest(Harness - start.Harness, requests),
        MachineTicks == start.MachineTicks ? double.NaN : (double)(MachineBusyTicks - start.MachineBusyTicks) / (MachineTicks - start.MachineTicks),
        requests == 0 ? double.NaN : (double)(ContextSwitches - start.ContextSwitches) / requests);

    private static double PerRequest(TimeSpan used, int requests) => requests == 0 ? double.NaN : used.TotalMilliseconds / requests;

    /// <summary>
    /// utime + stime of every process whose name is <paramref name="name"/>, plus cutime + cstime: the time of its children
    /// that ended and were reaped (fields 14-17 of <c>/proc/{pid}/stat</c>). PostgreSQL's connections are processes that
    /// end; their time then moves to the postmaster's cutime/cstime, so the sum never goes down as one ends.
    /// </summary>
    private static long ProcessTicks(string name)
    {
        long sum = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!char.IsAsciiDigit(Path.GetFileName(dir)[0])) continue;
            string stat;
            try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
            catch (IOException) { continue; } // ended meanwhile
            catch (UnauthorizedAccessException) { continue; }
            var open = stat.IndexOf('(');
            var close = stat.LastIndexOf(')');
            if (open < 0 || close < open || stat[(open + 1)..close] != name) continue;
            // after the name: state is field 3, so utime (14) to cstime (17) are the 12th to 15th after it
            var fields = stat[(close + 2)..].Split(' ');
            sum += long.Parse(fields[11]) + long.Parse(fields[12]) + long.Parse(fields[13]) + long.Parse(fields[14]);
        }
        return sum;
    }

    /// <summary>
    /// The machine's busy and total ticks over all cores, from the first line of <c>/proc/stat</c> (idle and iowait are not
    /// busy), and its context switches so far (its <c>ctxt</c> line).
    /// </summary>
    private static (long Busy, long All, long Switches) Machine()
    {
        var lines = File.ReadAllLines("/proc/stat");
        var fields = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(long.Parse).ToArray();
        var all = fields.Sum();
        var switches = lines.First(l => l.StartsWith("ctxt ", StringComparison.Ordinal)).Split(' ')[1];
        return (all - fields[3] - fields[4], all, long.Parse(switches));
    }
}

/// <summary>
/// CPU milliseconds per request of the nodes, PostgreSQL and the harness, the share of all cores the machine was busy,
/// and the machine's context switches per request.
/// </summary>
public sealed record CpuUse(double NodesMs, double PostgresMs, double HarnessMs, double MachineBusy, double SwitchesPerRequest);
