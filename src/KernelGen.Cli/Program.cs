// Entry point of the `kernelgen` tool: builds the command tree and runs it. Every command's action goes through
// CliRunner, which turns bad input into a one-line error and exit code 2 (never a stack trace).
return KernelGen.Cli.CliApp.Run(args, Console.Out, Console.Error);
