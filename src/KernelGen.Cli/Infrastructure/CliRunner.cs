using KernelGen.Errors;

namespace KernelGen.Cli.Infrastructure;

/// <summary>
/// Runs one command action and maps failures to exit codes and one-line messages on stderr. Bad input is expected
/// and reported plainly; anything else is a bug, reported in one line too unless KERNELGEN_DEBUG=1 asks for the trace.
/// </summary>
public static class CliRunner
{
    public static int Run(TextWriter stderr, Func<CancellationToken, int> action)
    {
        using var cancellation = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // First Ctrl-C: cancel cleanly so writers can delete their temporary files.
            e.Cancel = true;
            cancellation.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return action(cancellation.Token);
        }
        catch (ModelFormatException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception e) when (e is CliUsageException or NotSupportedException or InvalidDataException or System.Text.Json.JsonException)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: {OneLine(e.Message)}");
            return ExitCodes.BadInput;
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine("cancelled");
            return ExitCodes.Cancelled;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"internal error: {e.GetType().Name}: {OneLine(e.Message)} (set KERNELGEN_DEBUG=1 for details)");
            if (Environment.GetEnvironmentVariable("KERNELGEN_DEBUG") == "1") stderr.WriteLine(e);
            return ExitCodes.InternalError;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            PeakMemory.ReportIfRequested(stderr);
        }
    }

    private static string OneLine(string s) => s.Replace('\n', ' ').Replace('\r', ' ');
}

/// <summary>A usage error found by a command itself (an invalid combination of options, an unknown name).</summary>
public sealed class CliUsageException(string message) : Exception(message);
