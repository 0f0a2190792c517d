namespace Seedance.Server.Data;

public static class LedgerKind
{
    public const string TopUp = "topup";
    public const string Adjust = "adjust";
    public const string Reserve = "reserve";
    public const string Capture = "capture";
    public const string Release = "release";
}

/// <summary>One credit movement; written in the same transaction as the change that causes it.</summary>
public sealed class LedgerEntry
{
    public long Id { get; set; }
    public long KeyId { get; set; }
    public string? TaskId { get; set; }
    public required string Kind { get; set; }
    public decimal Amount { get; set; }
    public string? Note { get; set; }
    public DateTime CreatedAt { get; set; }
}
