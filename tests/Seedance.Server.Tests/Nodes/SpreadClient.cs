using System.Net.Http.Json;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Nodes;

/// <summary>
/// A client as a load balancer would spread it: request <c>n</c> goes to node <c>n mod size</c>, and to
/// the next node while that one does not answer (it may be dead or restarting).
/// </summary>
public sealed class SpreadClient(ServerCluster cluster, HttpClient http)
{
    public async Task<ApiResponse> SendAsync(int turn, HttpMethod method, string path, string apiKey, object? body = null, string? idempotencyKey = null)
    {
        var deadline = DateTime.UtcNow.AddMinutes(5);
        for (var attempt = 0; ; attempt++)
        {
            var index = (turn + attempt) % cluster.Size;
            try
            {
                using var request = new HttpRequestMessage(method, cluster[index].BaseUrl + path);
                request.Headers.Add("X-API-Key", apiKey);
                if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
                if (body is not null) request.Content = JsonContent.Create(body);
                return await ApiResponse.From(await http.SendAsync(request));
            }
            catch (Exception e) when (e is HttpRequestException or InvalidOperationException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }
}
