namespace Seedance.Server.Infrastructure;

public static class Paging
{
    /// <summary>
    /// The rows before page <paramref name="page"/> (from 1) of <paramref name="size"/> rows: a page past the end is empty,
    /// however large its number (the product does not overflow into a negative OFFSET).
    /// </summary>
    public static int Skip(int page, int size) => (int)Math.Min((long)(page - 1) * size, int.MaxValue);
}
