namespace KernelGen.Tests.Infrastructure;

/// <summary>
/// Where test data lives: tests/data in the repository (always present, also on a fresh clone), and ../shared beside
/// the repository (reference material present on developer machines; tests that need it say so and return early
/// with a message when it is absent, because a user's clone does not have it).
/// </summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string TestData => Path.Combine(Root, "tests", "data");

    public static string Models => Path.Combine(TestData, "models");

    public static string Model(string name) => Path.Combine(Models, name);

    /// <summary>../shared beside the repository, or null when this clone has none.</summary>
    public static string? Shared
    {
        get
        {
            string p = Path.GetFullPath(Path.Combine(Root, "..", "shared"));
            return Directory.Exists(Path.Combine(p, "models")) ? p : null;
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "KernelGen.sln"))) return dir.FullName;
        throw new InvalidOperationException($"KernelGen.sln not found above {AppContext.BaseDirectory}");
    }
}
