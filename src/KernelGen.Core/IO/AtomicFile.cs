namespace KernelGen.IO;

/// <summary>
/// Writes a file so that it either appears complete or not at all: the content goes to a temporary file in the same
/// folder, which is flushed and renamed over the destination only when writing succeeded. On any failure, including
/// cancellation, the temporary file is deleted and an existing destination is left untouched.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>.</summary>
    /// <param name="path">Destination.</param>
    /// <param name="overwrite">Replace an existing file; when false an existing file is an error raised before anything is written.</param>
    /// <param name="write">Writes the content to the stream it is given.</param>
    public static void Write(string path, bool overwrite, Action<Stream> write)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!overwrite && File.Exists(full))
            throw new IOException($"{path} already exists (use --force to overwrite)");
        string dir = System.IO.Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(dir);
        string temp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the original error is what the caller needs to see.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
