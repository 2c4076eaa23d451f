using System.Collections.Generic;

namespace KernelGen.Generators.Parser;

internal enum TokenKind
{
    Identifier,
    Integer,
    Float,
    Punct,
    String,
    End,
}

/// <summary>A source position: 0-based line and column, absolute offset and length (for diagnostics).</summary>
internal readonly record struct SourcePos(int Line, int Column, int Start, int Length);

internal readonly record struct Token(TokenKind Kind, string Text, SourcePos Pos)
{
    public bool Is(string punctOrWord) => (Kind == TokenKind.Punct || Kind == TokenKind.Identifier) && Text == punctOrWord;

    public string Describe() => Kind switch
    {
        TokenKind.End => "end of line",
        TokenKind.Identifier => $"'{Text}'",
        TokenKind.Integer or TokenKind.Float => $"number {Text}",
        TokenKind.String => $"string \"{Text}\"",
        _ => $"'{Text}'",
    };
}

/// <summary>
/// Splits one spec line into tokens. The language is line-oriented: <c>#</c> starts a comment, indentation marks a
/// continuation line (a run under <c>quant</c>/<c>scale</c>, a formula line under <c>value</c>).
/// </summary>
internal static class SpecLexer
{
    private static readonly string[] s_multiCharPuncts = { "..", "<<", ">>", ">=", "==" };

    /// <summary>Tokenizes <paramref name="text"/> (one line without its comment), which starts at absolute offset <paramref name="lineStart"/>.</summary>
    public static List<Token> Tokenize(string text, int line, int lineStart, out string? error, out SourcePos errorPos)
    {
        var tokens = new List<Token>();
        error = null;
        errorPos = default;
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c == ' ' || c == '\t' || c == '\r')
            {
                i++;
                continue;
            }
            int start = i;
            if (char.IsLetter(c) || c == '_')
            {
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_'))
                {
                    i++;
                }
                tokens.Add(new Token(TokenKind.Identifier, text.Substring(start, i - start), new SourcePos(line, start, lineStart + start, i - start)));
                continue;
            }
            if (char.IsDigit(c))
            {
                bool isFloat = false;
                if (c == '0' && i + 1 < text.Length && (text[i + 1] == 'x' || text[i + 1] == 'X'))
                {
                    i += 2;
                    while (i < text.Length && Uri.IsHexDigit(text[i]))
                    {
                        i++;
                    }
                }
                else
                {
                    while (i < text.Length && char.IsDigit(text[i]))
                    {
                        i++;
                    }
                    // "1.5" is a float; "0..31" is 0, "..", 31.
                    if (i + 1 < text.Length && text[i] == '.' && char.IsDigit(text[i + 1]))
                    {
                        isFloat = true;
                        i++;
                        while (i < text.Length && char.IsDigit(text[i]))
                        {
                            i++;
                        }
                    }
                    if (i < text.Length && (text[i] == 'e' || text[i] == 'E') && i + 1 < text.Length
                        && (char.IsDigit(text[i + 1]) || ((text[i + 1] == '-' || text[i + 1] == '+') && i + 2 < text.Length && char.IsDigit(text[i + 2]))))
                    {
                        isFloat = true;
                        i += 2;
                        while (i < text.Length && char.IsDigit(text[i]))
                        {
                            i++;
                        }
                    }
                    if (i < text.Length && (text[i] == 'f' || text[i] == 'F') && isFloat)
                    {
                        i++;
                    }
                }
                if (i < text.Length && (char.IsLetter(text[i]) || text[i] == '_'))
                {
                    error = $"malformed number '{text.Substring(start, i - start + 1)}'";
                    errorPos = new SourcePos(line, start, lineStart + start, i - start + 1);
                    return tokens;
                }
                tokens.Add(new Token(isFloat ? TokenKind.Float : TokenKind.Integer, text.Substring(start, i - start), new SourcePos(line, start, lineStart + start, i - start)));
                continue;
            }
            if (c == '"')
            {
                int close = text.IndexOf('"', i + 1);
                if (close < 0)
                {
                    error = "the string is not closed with '\"'";
                    errorPos = new SourcePos(line, start, lineStart + start, text.Length - start);
                    return tokens;
                }
                tokens.Add(new Token(TokenKind.String, text.Substring(i + 1, close - i - 1), new SourcePos(line, start, lineStart + start, close - i + 1)));
                i = close + 1;
                continue;
            }
            string? punct = null;
            foreach (var m in s_multiCharPuncts)
            {
                if (string.CompareOrdinal(text, i, m, 0, m.Length) == 0)
                {
                    punct = m;
                    break;
                }
            }
            if (punct is null && "[](){},:=@|&+-*/%".IndexOf(c) >= 0)
            {
                punct = c.ToString();
            }
            if (punct is null)
            {
                error = $"unexpected character '{c}'";
                errorPos = new SourcePos(line, start, lineStart + start, 1);
                return tokens;
            }
            i += punct.Length;
            tokens.Add(new Token(TokenKind.Punct, punct, new SourcePos(line, start, lineStart + start, punct.Length)));
        }
        tokens.Add(new Token(TokenKind.End, "", new SourcePos(line, text.Length, lineStart + text.Length, 0)));
        return tokens;
    }

    private static class Uri
    {
        public static bool IsHexDigit(char c) => (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
}
