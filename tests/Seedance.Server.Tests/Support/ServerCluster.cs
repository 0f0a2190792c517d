using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;
using Seedance.Server.Data;
using Seedance.Server.Tests.Ark;

namespace Seedance.Server.Tests.Support;

/// <summary>
/// Several servers sharing one PostgreSQL database (made for the cluster) and one data directory, with an Ark
/// emulator as their upstream: the deployment of several nodes behind a load balancer. The nodes are processes of
/// their own, which a test can kill; or, for a test that kills none, servers in this process (each with its own
/// node id, database writer, connections and LISTEN), which cost a start-up each and not a runtime each.
/// </summary>
public sealed class ServerCluster : IAsyncDisposable
{
    private readonly IServerNode?[] _nodes;
    private readonly Dictionary<string, string> _environment;
    private readonly bool _inProcess;

    private ServerCluster(int size, string connectionString, string dataDir, Dictionary<string, string> environment, bool inProcess)
    {
        _nodes = new IServerNode?[size];
        _inProcess = inProcess;
        ConnectionString = connectionString;
        DataDir = dataDir;
        _environment = environment;
    }

    public string ConnectionString { get; }
    public string DataDir { get; }
    public int Size => _nodes.Length;

    /// <summary>The id node <paramref name="index"/> holds its leases under.</summary>
    public static string NodeId(int index) => $"node-{(char)('a' + index)}";

    /// <summary>Starts <paramref name="size"/> nodes one after the other (the first applies the migrations).</summary>
    /// <param name="settings">Extra environment (<c>Seedance__...</c>) for every node.</param>
    /// <param name="inProcess">The nodes are servers in this process: they cannot be killed.</param>
    public static async Task<ServerCluster> StartAsync(int size, ArkEmulator ark, double leaseSeconds, Dictionary<string, string>? settings = null,
        bool inProcess = false)
    {
        var environment = new Dictionary<string, string>
        {
            ["Seedance__Database__Provider"] = "postgres",
            ["Seedance__AdminToken"] = RunningServer.AdminToken,
            ["Seedance__Node__LeaseSeconds"] = leaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Seedance__Tasks__DispatchIntervalSeconds"] = "0.05",
            ["Seedance__Tasks__PollIntervalSeconds"] = "0.1",
            ["Seedance__Callbacks__AllowPrivateNetworks"] = "true",
            ["Seedance__Callbacks__DispatchIntervalSeconds"] = "0.2",
            ["Seedance__Channels__0__Name"] = "ark",
            ["Seedance__Channels__0__Provider"] = "ark",
            ["Seedance__Channels__0__BaseUrl"] = ark.BaseUrl,
            ["Seedance__Channels__0__ApiKey"] = ark.ApiKey,
            ["Seedance__Channels__0__Models__seedance-2.0"] = "doubao-seedance-2-0-260128",
            ["Seedance__Channels__0__Models__seedance-2.0-fast"] = "doubao-seedance-2-0-fast-260128",
            ["Seedance__Channels__0__InlineImages"] = "true",
            ["Seedance__Channels__0__PollIntervalSeconds"] = "0.2",
            ["Seedance__Channels__0__AllowPrivateNetworks"] = "true", // the emulator's result links are on loopback
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (k, v) in settings ?? []) environment[k] = v;
        environment["Seedance__Database__ConnectionString"] = await TestPostgres.CreateDatabaseAsync("cluster");
        environment["Seedance__DataDir"] = TempDir.Create();
        var cluster = new ServerCluster(size, environment["Seedance__Database__ConnectionString"], environment["Seedance__DataDir"], environment, inProcess);
        try
        {
            // The first node migrates the empty database; the others then start side by side.
            await cluster.StartNodeAsync(0);
            await Task.WhenAll(Enumerable.Range(1, size - 1).Select(cluster.StartNodeAsync));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public IServerNode this[int index] => _nodes[index] ?? throw new InvalidOperationException($"Node {index} is not running");

    public bool IsRunning(int index) => _nodes[index] is not null;

    /// <summary>Starts (or restarts) node <paramref name="index"/> under its node id, on a new port.</summary>
    public async Task StartNodeAsync(int index)
    {
        if (_nodes[index] is not null) throw new InvalidOperationException($"Node {index} is running");
        var environment = new Dictionary<string, string>(_environment) { ["Seedance__Node__Id"] = NodeId(index) };
        if (!_inProcess)
        {
            _nodes[index] = await ServerProcess.StartAsync(environment, TimeSpan.FromMinutes(3));
            return;
        }
        var node = await RunningServer.StartAsync(environment.ToDictionary(kv => kv.Key.Replace("__", ":"), kv => kv.Value), DataDir);
        node.KeepDataDir = true; // the cluster's, deleted with it
        _nodes[index] = node;
    }

    /// <summary>SIGKILL to node <paramref name="index"/>; returns what it had written.</summary>
    public async Task<string> KillAsync(int index)
    {
        if (this[index] is not ServerProcess node) throw new InvalidOperationException("A node in this process cannot be killed: start the cluster as processes");
        _nodes[index] = null;
        node.Kill();
        var output = node.Output;
        await node.DisposeAsync();
        return output;
    }

    /// <summary>Creates a key through node 0's admin API and returns its key and id.</summary>
    public async Task<(string ApiKey, long KeyId)> CreateKeyAsync(string name, decimal credits, int maxConcurrent, int maxPending)
    {
        var response = await this[0].Admin.PostAsJsonAsync("/admin/v1/keys", new
        {
            name, credits, max_concurrent = maxConcurrent, max_pending = maxPending, rate_limit_per_second = 10_000,
        });
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
        return (body["result"]!["api_key"]!.GetValue<string>(), body["result"]!["key"]!["key_id"]!.GetValue<long>());
    }

    /// <summary>Rows of a query against the cluster's database, as name-value dictionaries.</summary>
    public async Task<List<Dictionary<string, object?>>> QueryAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return await TestDatabase.RowsAsync(command);
    }

    /// <summary>Who holds each task not yet terminal, by task id (null: nobody).</summary>
    public async Task<Dictionary<string, string?>> LeaseOwnersAsync() =>
        (await QueryAsync("SELECT task_id, lease_owner FROM video_tasks WHERE status IN ('pending', 'queued', 'processing')"))
        .ToDictionary(r => (string)r["task_id"]!, r => (string?)r["lease_owner"]);

    public async ValueTask DisposeAsync()
    {
        for (var i = 0; i < _nodes.Length; i++)
            if (_nodes[i] is { } node)
            {
                _nodes[i] = null;
                await node.DisposeAsync();
            }
        await TestPostgres.DropDatabaseAsync(ConnectionString);
        TempDir.Delete(DataDir);
    }
}
