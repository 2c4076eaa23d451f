namespace KernelGen.Conversion.HuggingFace;

/// <summary>
/// Writes a model folder so it appears complete or not at all: the files go into a temporary sibling folder, which is
/// moved into place at the end; on failure it is deleted and an existing destination is left as it was.
/// </summary>
public static class FolderWriter
{
    private static readonly string[] Companions =
        ["tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "added_tokens.json"];

    public static void Write(string folder, bool overwrite, Action<string> fill)
    {
        string full = Path.GetFullPath(folder);
        if ((Directory.Exists(full) || File.Exists(full)) && !overwrite)
            throw new IOException($"{folder} already exists (use --force to overwrite)");
        string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(temp);
        try
        {
            fill(temp);
            if (Directory.Exists(full)) Directory.Delete(full, recursive: true);
            else if (File.Exists(full)) File.Delete(full);
            Directory.Move(temp, full);
        }
        catch
        {
            try { Directory.Delete(temp, recursive: true); }
            catch (IOException) { /* the original error matters more */ }
            throw;
        }
    }

    /// <summary>Copies the tokenizer and generation files a model folder carries besides its weights and config.</summary>
    public static void CopyCompanionFiles(string from, string to)
    {
        foreach (string name in Companions)
            if (File.Exists(Path.Combine(from, name))) File.Copy(Path.Combine(from, name), Path.Combine(to, name));
    }
}
