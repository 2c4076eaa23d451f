using System.Buffers.Binary;
using System.Text;

namespace KernelGen.Conversion.HuggingFace;

/// <summary>One SentencePiece vocabulary entry. <see cref="Type"/> uses SentencePiece's numbering, which GGUF's token types share (1 normal … 6 byte).</summary>
public readonly record struct SentencePiece(string Piece, float Score, int Type);

/// <summary>
/// Reads the vocabulary of a SentencePiece <c>tokenizer.model</c> (a protobuf <c>ModelProto</c>): repeated field 1 is
/// a piece message {1: piece string, 2: score float, 3: type enum, default NORMAL}. Everything else is skipped. A
/// minimal wire-format reader, bounds-checked: a malformed file is an <see cref="InvalidDataException"/>.
/// </summary>
public static class SentencePieceModel
{
    public static IReadOnlyList<SentencePiece> ReadPieces(ReadOnlySpan<byte> model)
    {
        var pieces = new List<SentencePiece>();
        int pos = 0;
        while (pos < model.Length)
        {
            var (field, wire) = Tag(model, ref pos);
            if (field == 1 && wire == 2) pieces.Add(ReadPiece(LengthDelimited(model, ref pos)));
            else Skip(model, ref pos, wire);
        }
        return pieces;
    }

    private static SentencePiece ReadPiece(ReadOnlySpan<byte> m)
    {
        string piece = "";
        float score = 0;
        int type = 1;
        int pos = 0;
        while (pos < m.Length)
        {
            var (field, wire) = Tag(m, ref pos);
            switch (field, wire)
            {
                case (1, 2): piece = Encoding.UTF8.GetString(LengthDelimited(m, ref pos)); break;
                case (2, 5): score = BinaryPrimitives.ReadSingleLittleEndian(Fixed(m, ref pos, 4)); break;
                case (3, 0): type = (int)Varint(m, ref pos); break;
                default: Skip(m, ref pos, wire); break;
            }
        }
        return new SentencePiece(piece, score, type);
    }

    private static (int Field, int Wire) Tag(ReadOnlySpan<byte> m, ref int pos)
    {
        ulong tag = Varint(m, ref pos);
        return ((int)(tag >> 3), (int)(tag & 7));
    }

    private static ulong Varint(ReadOnlySpan<byte> m, ref int pos)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (pos >= m.Length) throw new InvalidDataException("tokenizer.model ends inside a varint");
            byte b = m[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new InvalidDataException("tokenizer.model has a varint longer than 10 bytes");
    }

    private static ReadOnlySpan<byte> LengthDelimited(ReadOnlySpan<byte> m, ref int pos)
    {
        ulong len = Varint(m, ref pos);
        return Fixed(m, ref pos, len > (ulong)(m.Length - pos) ? throw new InvalidDataException("tokenizer.model field runs past the end") : (int)len);
    }

    private static ReadOnlySpan<byte> Fixed(ReadOnlySpan<byte> m, ref int pos, int count)
    {
        if (count > m.Length - pos) throw new InvalidDataException("tokenizer.model ends inside a field");
        var s = m.Slice(pos, count);
        pos += count;
        return s;
    }

    private static void Skip(ReadOnlySpan<byte> m, ref int pos, int wire)
    {
        switch (wire)
        {
            case 0: Varint(m, ref pos); break;
            case 1: Fixed(m, ref pos, 8); break;
            case 2: LengthDelimited(m, ref pos); break;
            case 5: Fixed(m, ref pos, 4); break;
            default: throw new InvalidDataException($"tokenizer.model uses protobuf wire type {wire}, which is not supported");
        }
    }
}
