using KernelGen.Containers;
using KernelGen.Containers.Gguf;
using KernelGen.Containers.HuggingFace;
using KernelGen.Containers.Safetensors;

namespace KernelGen.Cli.Inspection;

/// <summary>Picks the report builder for a container.</summary>
public static class ReportBuilder
{
    public static InspectionReport Build(IModelContainer container, int arrayLimit) => container switch
    {
        GgufFile gguf => GgufReportBuilder.Build(gguf, arrayLimit),
        SafetensorsFile st => SafetensorsReportBuilder.Build(st),
        HfModelFolder folder => HfFolderReportBuilder.Build(folder),
        _ => throw new NotSupportedException($"no report for {container.GetType().Name}"),
    };
}
