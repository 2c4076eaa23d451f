using KernelGen.Containers.Gguf;
using KernelGen.Containers.HuggingFace;
using KernelGen.Containers.Safetensors;
using KernelGen.Errors;

namespace KernelGen.Containers;

/// <summary>Opens any supported model container, choosing the reader by what the path is and by its first bytes.</summary>
public static class ModelOpener
{
    /// <summary>
    /// A folder opens as a Hugging Face model folder; a file starting with "GGUF" as GGUF; any other file as
    /// safetensors (whose validation then says what is wrong if it is not one).
    /// </summary>
    public static IModelContainer Open(string path)
    {
        if (Directory.Exists(path)) return HfModelFolder.Open(path);
        if (!File.Exists(path)) throw new ModelFormatException(path, null, "no such file or folder");
        Span<byte> head = stackalloc byte[4];
        int read;
        try
        {
            using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            read = s.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException(path, null, $"cannot read: {e.Message}");
        }
        if (GgufFile.HasMagic(head[..read])) return GgufFile.Open(path);
        if (path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
            throw new ModelFormatException(path, 0, read < 4 ? "file is too short to be GGUF (no magic)" : "not a GGUF file (magic is not \"GGUF\")");
        return SafetensorsFile.Open(path);
    }
}
