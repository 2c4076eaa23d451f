using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace KernelGen.Packaging.Tests;

/// <summary>
/// The way a user gets KernelGen: <c>dotnet pack</c> into a local folder feed (a unique prerelease version, so no
/// stale copy in the NuGet cache is ever used), a fresh console project outside the repository that references
/// <c>KernelGen</c> by version only and declares its kernels with the attributes (the sample's Program.cs, which is
/// also the README's example), built with warnings as errors and run; and the tool package installed into a tool
/// path and run. One test, because packing and restoring dominate its time.
/// </summary>
public sealed class PackAndConsumeTests
{
    private static readonly TimeSpan s_stepTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public void Packed_library_and_tool_work_in_a_fresh_project()
    {
        string repo = FindRepoRoot();
        string configuration = typeof(PackAndConsumeTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "KernelGenConfiguration").Value!;
        string version = $"0.1.0-pack.t{DateTime.UtcNow:yyyyMMddHHmmss}{Guid.NewGuid().ToString("N")[..6]}";
        string root = Path.Combine(Path.GetTempPath(), "kernelgen-pack-" + Guid.NewGuid().ToString("N")[..12]);
        string feed = Path.Combine(root, "feed"), consumer = Path.Combine(root, "consumer"), tools = Path.Combine(root, "tools");
        try
        {
            Directory.CreateDirectory(feed);
            Directory.CreateDirectory(consumer);

            // The projects are built (this test project references them); pack exactly those outputs.
            foreach (var project in new[] { "src/KernelGen.Kernels", "src/KernelGen.Cli" })
            {
                Dotnet(repo, "pack", project, "-c", configuration, "--no-build", "-o", feed, $"-p:PackageVersion={version}");
            }
            Assert.True(File.Exists(Path.Combine(feed, $"KernelGen.{version}.nupkg")));
            Assert.True(File.Exists(Path.Combine(feed, $"KernelGen.Tool.{version}.nupkg")));

            // A consumer as 'dotnet new console' + 'dotnet add package KernelGen' makes it; the empty Directory.*
            // files stop MSBuild from importing anything found above the temporary folder.
            File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="kernelgen-test-feed" value="{feed}" />
                  </packageSources>
                </configuration>
                """);
            foreach (var name in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
            {
                File.WriteAllText(Path.Combine(consumer, name), "<Project />\n");
            }
            File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="KernelGen" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            File.Copy(Path.Combine(repo, "samples", "KernelGen.Sample", "Program.cs"), Path.Combine(consumer, "Program.cs"));

            Dotnet(consumer, "build", "-c", "Release");
            string output = Dotnet(consumer, "run", "-c", "Release", "--no-build");
            Assert.Contains("Q4_K 1024x4096: y[0] = ", output, StringComparison.Ordinal);
            Assert.Contains("ok", output.Split('\n').Select(l => l.Trim()).ToArray());

            Dotnet(consumer, "tool", "install", "KernelGen.Tool", "--tool-path", tools, "--version", version, "--add-source", feed);
            string help = Run(Path.Combine(tools, OperatingSystem.IsWindows() ? "kernelgen.exe" : "kernelgen"), consumer, "--help");
            Assert.Contains("Usage:", help, StringComparison.Ordinal);
            Assert.Contains("kernelgen", help, StringComparison.Ordinal);
        }
        finally
        {
            TryDelete(root);
            // The restore copied this one-off version into the global packages folder; remove it again.
            string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            TryDelete(Path.Combine(packages, "kernelgen", version));
        }
    }

    private static string Dotnet(string workingDirectory, params string[] args) => Run("dotnet", workingDirectory, args);

    private static string Run(string fileName, string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        // The test host's MSBuild variables would point a nested build at the outer one's MSBuild and SDK.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(key);
        }
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(s_stepTimeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"'{fileName} {string.Join(' ', args)}' did not finish in {s_stepTimeout}:\n{output}");
        }
        process.WaitForExit();
        string text;
        lock (output)
        {
            text = output.ToString();
        }
        Assert.True(process.ExitCode == 0, $"'{fileName} {string.Join(' ', args)}' in {workingDirectory} exited with {process.ExitCode}:\n{text}");
        return text;
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KernelGen.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("KernelGen.sln not found above " + AppContext.BaseDirectory);
    }
}
