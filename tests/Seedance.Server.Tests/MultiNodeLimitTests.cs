using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// Several servers on one database (a PostgreSQL database in the second pass of <c>./test</c>; one
/// SQLite file in the first) hold each key's limits exactly: submissions spread over the nodes at the same
/// time take the last credit or the last backlog place once, never twice, and the ledger balances.
/// </summary>
public sealed class MultiNodeLimitTests
{
    private const int Submissions = 100;
    private const decimal Cost = 3.6m;

    [Fact]
    public async Task AHundredConcurrentSubmissionsThroughThreeNodesAgainstABalanceForTenAcceptExactlyTen()
    {
        await using var cluster = await Cluster.StartAsync(nodes: 3);
        using var key = await cluster.Nodes[0].CreateKeyAsync(credits: 10 * Cost, maxConcurrent: 1, maxPending: Submissions);

        var (accepted, refused) = await cluster.SubmitEverywhereAsync(key, Submissions);

        Assert.Equal(10, accepted.Count);
        foreach (var response in refused) response.AssertError(402, "INSUFFICIENT_CREDIT");
        foreach (var client in cluster.ClientsOf(key))
            using (client) Assert.Equal(new CreditFigures(10 * Cost, 0m, 10 * Cost, 0m), await client.CreditsAsync());
        await AssertStoredAsync(cluster.DataDir, key.KeyId, accepted);
    }

    [Fact]
    public async Task AHundredConcurrentSubmissionsThroughThreeNodesFillTheBacklogExactly()
    {
        await using var cluster = await Cluster.StartAsync(nodes: 3);
        // Nothing starts (see Cluster), so the two free concurrency slots and the eight backlog places take ten.
        using var key = await cluster.Nodes[0].CreateKeyAsync(credits: 1000m, maxConcurrent: 2, maxPending: 8);

        var (accepted, refused) = await cluster.SubmitEverywhereAsync(key, Submissions);

        Assert.Equal(10, accepted.Count);
        foreach (var response in refused) response.AssertError(429, "CONCURRENCY_LIMIT_REACHED");
        foreach (var client in cluster.ClientsOf(key))
            using (client) Assert.Equal(new CreditFigures(1000m, 0m, 10 * Cost, 1000m - 10 * Cost), await client.CreditsAsync());
        await AssertStoredAsync(cluster.DataDir, key.KeyId, accepted);
    }

    /// <summary>
    /// The database itself: the accepted tasks and no others, each with one reservation of its cost, and the
    /// key's figures equal to its ledger (total = top-ups and adjustments, reserved = reservations not yet
    /// captured or released, used = captures, nothing below zero).
    /// </summary>
    private static async Task AssertStoredAsync(string dataDir, long keyId, IReadOnlyList<string> accepted)
    {
        var tasks = await TestDatabase.QueryAsync(dataDir, "SELECT task_id, status FROM video_tasks WHERE key_id = @key", ("key", keyId));
        Assert.Equal(accepted.Order(), tasks.Select(t => (string)t["task_id"]!).Order());
        Assert.All(tasks, t => Assert.Equal("pending", t["status"]));

        var ledger = await TestDatabase.QueryAsync(dataDir, "SELECT kind, amount, task_id FROM credit_ledger WHERE key_id = @key", ("key", keyId));
        long Sum(params string[] kinds) => ledger.Where(l => kinds.Contains((string)l["kind"]!)).Sum(l => Convert.ToInt64(l["amount"]));
        var reserves = ledger.Where(l => (string)l["kind"]! == "reserve").ToList();
        Assert.Equal(accepted.Order(), reserves.Select(r => (string)r["task_id"]!).Order());
        Assert.All(reserves, r => Assert.Equal(360L, Convert.ToInt64(r["amount"])));

        var figures = Assert.Single(await TestDatabase.QueryAsync(dataDir,
            "SELECT total_credits, used_credits, reserved_credits FROM api_keys WHERE id = @key", ("key", keyId)));
        var (total, used, reserved) = (Convert.ToInt64(figures["total_credits"]), Convert.ToInt64(figures["used_credits"]), Convert.ToInt64(figures["reserved_credits"]));
        Assert.Equal(Sum("topup", "adjust"), total);
        Assert.Equal(Sum("capture"), used);
        Assert.Equal(Sum("reserve") - Sum("capture", "release"), reserved);
        Assert.True(used >= 0 && reserved >= 0 && total - used - reserved >= 0, $"total {total}, used {used}, reserved {reserved}");
    }

    /// <summary>
    /// Servers sharing one data directory, so one database and one store; each is a node of its own (its own id, its own
    /// database writer and connections), run in this process, where they cost a start-up each and not a runtime each.
    /// Their only channel is a relay whose address refuses connections: no task is ever handed over, so every accepted
    /// task stays pending and keeps its credit and its place, and what is accepted depends on the submissions alone.
    /// </summary>
    private sealed class Cluster : IAsyncDisposable
    {
        private Cluster(string dataDir) => DataDir = dataDir;

        public string DataDir { get; }
        public List<RunningServer> Nodes { get; } = [];

        public static async Task<Cluster> StartAsync(int nodes)
        {
            var cluster = new Cluster(TempDir.Create());
            var settings = new Dictionary<string, string>
            {
                ["Seedance:Channels:0:Name"] = "unreachable",
                ["Seedance:Channels:0:Provider"] = "relay",
                ["Seedance:Channels:0:BaseUrl"] = $"http://127.0.0.1:{ServerProcess.FreePort()}",
                ["Seedance:Channels:0:ApiKey"] = "sk-sd2-unreachable",
                ["Logging:LogLevel:Seedance.Server.Dispatch"] = "Error", // every hand-over fails here, by design
            };
            try
            {
                // One after the other: the first applies the migrations, the others find them applied.
                for (var i = 0; i < nodes; i++)
                {
                    var node = await RunningServer.StartAsync(new(settings) { ["Seedance:Node:Id"] = ServerCluster.NodeId(i) }, cluster.DataDir);
                    node.KeepDataDir = true; // the cluster's, deleted with it
                    cluster.Nodes.Add(node);
                }
                await cluster.WarmUpAsync();
                return cluster;
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }

        /// <summary>
        /// One submission through each node with a key of its own, so the burst meets nodes that have served
        /// before: a cold node compiles its submission path while it holds the key's turn, and on two shared
        /// cores that can keep the others waiting beyond their command timeout.
        /// </summary>
        private async Task WarmUpAsync()
        {
            using var key = await Nodes[0].CreateKeyAsync(name: "warm-up");
            var clients = ClientsOf(key);
            foreach (var client in clients)
                using (client) await client.SubmitTextAsync("A warm-up shot of an empty stage");
        }

        /// <summary>The key's client on every node.</summary>
        public List<ApiClient> ClientsOf(ApiClient key) => Nodes.Select(n => new ApiClient(n.BaseUrl, key.ApiKey, key.KeyId)).ToList();

        /// <summary>Submits <paramref name="count"/> tasks at once, spread round-robin over the nodes; returns the accepted task ids and the refusals.</summary>
        public async Task<(List<string> Accepted, List<ApiResponse> Refused)> SubmitEverywhereAsync(ApiClient key, int count)
        {
            var clients = ClientsOf(key);
            try
            {
                var responses = await Task.WhenAll(Enumerable.Range(0, count).Select(i => clients[i % clients.Count].SubmitAsync(new Dictionary<string, object>
                {
                    ["content"] = new[] { new { type = "text", text = $"A paper boat on a stream, take {i}" } }, ["duration"] = 4, ["resolution"] = "480p",
                })));
                var broken = responses.Count(r => r.Status >= 500);
                Assert.True(broken == 0, $"{broken} submissions failed with a server error: {string.Join("\n", responses.Where(r => r.Status >= 500).Take(3).Select(r => $"{r.Status} {r.Code}: {r.Message}"))}");
                var accepted = responses.Where(r => r.Status == 200).ToList();
                foreach (var response in accepted) response.AssertOk();
                return (accepted.Select(r => r.Result!["task_id"]!.GetValue<string>()).ToList(), responses.Where(r => r.Status != 200).ToList());
            }
            finally
            {
                foreach (var client in clients) client.Dispose();
            }
        }


        public async ValueTask DisposeAsync()
        {
            foreach (var node in Nodes) await node.DisposeAsync();
            TempDir.Delete(DataDir);
        }
    }
}
