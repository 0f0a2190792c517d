namespace Seedance.Server.Data;

/// <summary>The first answer to a submission with an <c>Idempotency-Key</c>, kept 24 h per API key.</summary>
public sealed class IdempotencyRecord
{
    public long KeyId { get; set; }
    public required string IdempotencyKey { get; set; }
    public required byte[] RequestHash { get; set; }
    public int ResponseStatus { get; set; }
    public required string ResponseBody { get; set; }
    public DateTime CreatedAt { get; set; }
}
