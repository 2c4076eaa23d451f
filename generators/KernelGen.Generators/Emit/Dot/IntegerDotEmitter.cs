using KernelGen.Generators.Model;

namespace KernelGen.Generators.Emit.Dot;

/// <summary>Placeholder: the integer kernel emitter (filled in next).</summary>
internal static class IntegerDotEmitter
{
    public static void EmitBody(SourceWriter w, FormatSpec spec, IntegerDotPlan plan)
    {
    }

    public static void EmitMembers(SourceWriter w, FormatSpec spec, IntegerDotPlan plan)
    {
    }
}
