using System;
using System.Text;

namespace KernelGen.Generators.Emit;

/// <summary>
/// A small indented text writer over a <see cref="StringBuilder"/> (the System.Text.Json generator's shape):
/// <see cref="WriteLine(string)"/> re-indents every line of a multi-line string, and <see cref="ToSourceText"/>
/// asserts that every opened block was closed, a cheap guard against unbalanced braces in emitted code.
/// </summary>
internal sealed class SourceWriter
{
    private const int IndentSize = 4;
    private readonly StringBuilder _sb = new();
    private int _indentation;

    public int Indentation
    {
        get => _indentation;
        set
        {
            if (value < 0)
            {
                throw new InvalidOperationException("Indentation cannot be negative: unbalanced CloseBlock.");
            }
            _indentation = value;
        }
    }

    public SourceWriter WriteLine(string text)
    {
        if (text.IndexOf('\n') < 0)
        {
            AppendLine(text);
            return this;
        }
        foreach (var line in text.Split('\n'))
        {
            AppendLine(line.TrimEnd('\r'));
        }
        return this;
    }

    public SourceWriter WriteLine()
    {
        _sb.Append('\n');
        return this;
    }

    /// <summary>Writes <paramref name="header"/> (if any), then <c>{</c>, and indents.</summary>
    public SourceWriter OpenBlock(string? header = null)
    {
        if (header is not null)
        {
            WriteLine(header);
        }
        WriteLine("{");
        Indentation++;
        return this;
    }

    public SourceWriter CloseBlock(string suffix = "")
    {
        Indentation--;
        WriteLine("}" + suffix);
        return this;
    }

    public string ToSourceText()
    {
        if (_indentation != 0)
        {
            throw new InvalidOperationException($"Unbalanced emitted code: indentation is {_indentation} at the end of the file.");
        }
        return _sb.ToString();
    }

    private void AppendLine(string line)
    {
        if (line.Length > 0)
        {
            _sb.Append(' ', _indentation * IndentSize);
            _sb.Append(line);
        }
        _sb.Append('\n');
    }
}
