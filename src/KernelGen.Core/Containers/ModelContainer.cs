namespace KernelGen.Containers;

/// <summary>The kinds of model container KernelGen opens.</summary>
public enum ContainerKind
{
    /// <summary>A llama.cpp GGUF file.</summary>
    Gguf,
    /// <summary>A single safetensors file.</summary>
    Safetensors,
    /// <summary>A Hugging Face style folder: config.json plus one or many safetensors files.</summary>
    HfFolder,
}

/// <summary>
/// One tensor as a container stores it, in container-neutral terms: the common ground of <c>inspect</c>.
/// </summary>
/// <param name="Name">The tensor's name in its file.</param>
/// <param name="Type">The ggml type name for GGUF tensors (<c>Q4_K</c>, or <c>type_N</c> if unknown), the dtype for safetensors (<c>F16</c>).</param>
/// <param name="Shape">Dimensions outermost first (numpy order; for GGUF the reverse of <c>ne</c>).</param>
/// <param name="Offset">Absolute byte offset of the tensor's data in <paramref name="File"/>.</param>
/// <param name="Bytes">Size of the data in the file; null when the type is unknown and the size cannot be known.</param>
/// <param name="File">Path of the file that holds the data.</param>
public sealed record TensorEntry(string Name, string Type, IReadOnlyList<long> Shape, long Offset, long? Bytes, string File)
{
    /// <summary>Number of elements (the product of <see cref="Shape"/>; 1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n *= d;
            return n;
        }
    }
}

/// <summary>An opened model container: a GGUF file, a safetensors file or a Hugging Face folder.</summary>
public interface IModelContainer : IDisposable
{
    /// <summary>Which kind of container this is.</summary>
    ContainerKind Kind { get; }

    /// <summary>The path it was opened from.</summary>
    string Path { get; }

    /// <summary>The container's format version (GGUF 2 or 3), or null when the format has none.</summary>
    int? Version { get; }

    /// <summary>The tensors in file order (for folders: shard order, then file order).</summary>
    IReadOnlyList<TensorEntry> Tensors { get; }
}
