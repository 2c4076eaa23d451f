using KernelGen.Generators.Model;

namespace KernelGen.Generators.Emit.Dot;

/// <summary>Placeholder: the integer plan (filled in next).</summary>
internal sealed class IntegerDotPlan
{
    public static IntegerDotPlan? TryCreate(FormatSpec spec) => null;
}
