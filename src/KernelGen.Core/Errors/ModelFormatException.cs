namespace KernelGen.Errors;

/// <summary>
/// The one error type the container readers and writers throw for bad input: a file that is truncated, corrupt,
/// inconsistent or uses something KernelGen does not support. The message is a single line that names the file,
/// the byte offset where the problem was found (when there is one) and what is wrong, so the CLI can print it as is.
/// </summary>
public sealed class ModelFormatException : Exception
{
    public ModelFormatException(string filePath, long? offset, string reason, Exception? inner = null)
        : base(Format(filePath, offset, reason), inner)
    {
        FilePath = filePath;
        Offset = offset;
        Reason = reason;
    }

    /// <summary>The file the problem was found in.</summary>
    public string FilePath { get; }

    /// <summary>Absolute byte offset in <see cref="FilePath"/> where the problem was detected, if it has one.</summary>
    public long? Offset { get; }

    /// <summary>What is wrong, without the file and offset prefix.</summary>
    public string Reason { get; }

    private static string Format(string filePath, long? offset, string reason)
    {
        // Keep it to one line whatever the reason text holds.
        reason = reason.Replace('\n', ' ').Replace('\r', ' ');
        return offset is long o ? $"{filePath}: at byte {o}: {reason}" : $"{filePath}: {reason}";
    }
}
