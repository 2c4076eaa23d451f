namespace KernelGen.Core.Tests.Safetensors;

/// <summary>
/// Where the test vectors are: <c>tests/data/vectors/quant</c> in the repository (always present), found by walking
/// up from the test binaries to the folder holding KernelGen.sln; and the optional shared calibration vectors next
/// to the repository, which tests use only when they exist.
/// </summary>
internal static class SafetensorsTestData
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string QuantDir => Path.Combine(RepoRoot, "tests", "data", "vectors", "quant");

    /// <summary>A path under tests/data/vectors/quant.</summary>
    public static string Quant(params string[] parts) => Path.Combine([QuantDir, .. parts]);

    /// <summary>The shared calibration vectors (../shared/vectors/calib), or null when this machine has none.</summary>
    public static string? SharedCalibDir
    {
        get
        {
            string dir = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "vectors", "calib"));
            return Directory.Exists(dir) ? dir : null;
        }
    }

    /// <summary>Every safetensors file of the in-repo vectors, relative to <see cref="QuantDir"/>, in a stable order.</summary>
    public static IEnumerable<string> QuantFiles() =>
        Directory.GetFiles(QuantDir, "*.safetensors", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(QuantDir, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "KernelGen.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no KernelGen.sln above {AppContext.BaseDirectory}");
    }
}
