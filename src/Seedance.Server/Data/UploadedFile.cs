namespace Seedance.Server.Data;

/// <summary>A presigned upload slot and, once the PUT lands, the stored file.</summary>
public sealed class UploadedFile
{
    public long Id { get; set; }
    public long KeyId { get; set; }
    /// <summary><c>api/uploads/{key_id}/{uuid}_{filename}</c>, the value tasks reference.</summary>
    public required string FilePath { get; set; }
    public required string ContentType { get; set; }
    public long? Size { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime ExpiresAt { get; set; }
    public DateTime? UploadedAt { get; set; }
    /// <summary>Set when a task references the file: from then on it never changes.</summary>
    public DateTime? ReferencedAt { get; set; }

    public bool IsImage => ContentType.StartsWith("image/", StringComparison.Ordinal);
}
