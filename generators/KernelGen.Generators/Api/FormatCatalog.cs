using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using KernelGen.Generators.Api.Model;
using KernelGen.Generators.Helpers;
using KernelGen.Generators.Model;
using KernelGen.Generators.Parser;

namespace KernelGen.Generators.Api;

/// <summary>
/// The built-in formats, known to the generator in every project: <c>formats/*.kgspec</c> are embedded in this
/// assembly and parsed once, on first use (a project with no kernel attributes never pays for it). A consumer of the
/// KernelGen package has no spec files of its own, yet gets unknown-format and shape diagnostics from these.
/// </summary>
internal static class FormatCatalog
{
    /// <summary>Manifest resource prefix of the embedded specs (see the generator's csproj).</summary>
    public const string ResourcePrefix = "KernelGen.Formats.";

    /// <summary>The namespace the runtime library generates its built-in codecs and kernels into.</summary>
    public const string BuiltInNamespace = GeneratorOptions.DefaultNamespace;

    private static readonly Lazy<EquatableArray<FormatFacts>> s_builtIns = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Every built-in format, ordered by name.</summary>
    public static EquatableArray<FormatFacts> BuiltIns => s_builtIns.Value;

    /// <summary>The format named <paramref name="name"/>: the project's own spec first, then a built-in; null if neither.</summary>
    public static FormatFacts? Find(string name, EquatableArray<FormatFacts> userFormats)
    {
        foreach (var f in userFormats)
        {
            if (f.Name == name)
            {
                return f;
            }
        }
        foreach (var f in BuiltIns)
        {
            if (f.Name == name)
            {
                return f;
            }
        }
        return null;
    }

    /// <summary>
    /// Names close to <paramref name="name"/>: the same letters ignoring case and '_' (<c>q4k</c> → Q4_K) if any,
    /// otherwise names one edit away (<c>Q4_KM</c> → Q4_K).
    /// </summary>
    public static List<string> Suggestions(string name, EquatableArray<FormatFacts> userFormats)
    {
        string key = Normalize(name);
        var same = new List<string>();
        var near = new List<string>();
        foreach (var f in All(userFormats))
        {
            string other = Normalize(f.Name);
            if (other == key && !same.Contains(f.Name))
            {
                same.Add(f.Name);
            }
            else if (key.Length > 1 && Distance(other, key) <= 1 && !near.Contains(f.Name))
            {
                near.Add(f.Name);
            }
        }
        return same.Count > 0 ? same : near;
    }

    /// <summary>The block formats an attribute accepts, user formats first.</summary>
    public static List<string> BlockFormatNames(EquatableArray<FormatFacts> userFormats)
    {
        var result = new List<string>();
        foreach (var f in All(userFormats))
        {
            if (!f.IsTensorLevel && !result.Contains(f.Name))
            {
                result.Add(f.Name);
            }
        }
        return result;
    }

    private static IEnumerable<FormatFacts> All(EquatableArray<FormatFacts> userFormats)
    {
        foreach (var f in userFormats)
        {
            yield return f;
        }
        foreach (var f in BuiltIns)
        {
            yield return f;
        }
    }

    private static string Normalize(string s) => s.Replace("_", string.Empty).ToUpperInvariant();

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    private static EquatableArray<FormatFacts> Load()
    {
        var assembly = typeof(FormatCatalog).Assembly;
        var formats = new SortedDictionary<string, FormatFacts>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            {
                continue;
            }
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            var parsed = SpecParser.Parse(resource.Substring(ResourcePrefix.Length), reader.ReadToEnd(), CancellationToken.None);
            if (FormatFacts.From(parsed, BuiltInNamespace, isUserFormat: false) is { } facts)
            {
                formats[facts.Name] = facts;
            }
        }
        return formats.Values.ToEquatableArray();
    }
}
