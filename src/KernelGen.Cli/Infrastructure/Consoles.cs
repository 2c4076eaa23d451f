using Spectre.Console;

namespace KernelGen.Cli.Infrastructure;

/// <summary>Spectre consoles over the tool's writers: colours and live progress on a terminal, plain text otherwise.</summary>
public static class Consoles
{
    public static IAnsiConsole For(TextWriter writer)
    {
        bool terminal = ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        // Redirected output has no width; a wide page keeps tensor names on one line for grep and diff.
        if (!terminal) console.Profile.Width = 200;
        return console;
    }
}
