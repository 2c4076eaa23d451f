using System.CommandLine;
using KernelGen.Cli.Commands;
using KernelGen.Cli.Infrastructure;

namespace KernelGen.Cli;

/// <summary>The command tree of <c>kernelgen</c>. Each command lives in its own file under Commands/.</summary>
public static class CliApp
{
    public static RootCommand BuildRoot(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("KernelGen: inspect, dump, convert and verify quantized model files (GGUF, safetensors, GPTQ, AWQ, BitNet).");
        root.Subcommands.Add(InspectCommand.Create(stdout, stderr));
        root.Subcommands.Add(DumpCommand.Create(stdout, stderr));
        root.Subcommands.Add(ConvertCommand.Create(stdout, stderr));
        root.Subcommands.Add(VerifyCommand.Create(stdout, stderr));
        root.Subcommands.Add(BenchCommand.Create(stdout, stderr));
        root.Subcommands.Add(DemoCommand.Create(stdout, stderr));
        return root;
    }

    /// <summary>Parses and runs; usage errors go to stderr with exit code 2.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = BuildRoot(stdout, stderr);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) stderr.WriteLine($"error: {error.Message}");
            stderr.WriteLine("run 'kernelgen --help' for usage");
            return ExitCodes.BadInput;
        }
        return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
    }
}
