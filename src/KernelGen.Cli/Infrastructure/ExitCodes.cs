namespace KernelGen.Cli.Infrastructure;

/// <summary>The tool's exit codes (documented in README.md).</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;
    /// <summary>A check failed (for example <c>verify</c> found a tensor over the tolerance).</summary>
    public const int CheckFailed = 1;
    /// <summary>Bad input or usage: a malformed or unsupported file, a missing path, a wrong option.</summary>
    public const int BadInput = 2;
    /// <summary>A bug in KernelGen: an unexpected exception.</summary>
    public const int InternalError = 3;
    /// <summary>Interrupted (Ctrl-C).</summary>
    public const int Cancelled = 130;
}
