namespace KernelGen.Conversion;

/// <summary>How far a lossy tensor moved: largest absolute error, RMS error, and RMS error relative to the RMS of the values.</summary>
public readonly record struct TensorError(double MaxAbs, double Rms, double Relative, long Elements, bool BitExact);

/// <summary>Accumulates <see cref="TensorError"/> over chunks, from any number of threads.</summary>
public sealed class TensorErrorAccumulator
{
    private readonly object _gate = new();
    private double _maxAbs, _sumSq, _refSq;
    private long _n;
    private bool _exact = true;

    public void Add(ReadOnlySpan<float> reference, ReadOnlySpan<float> actual)
    {
        double maxAbs = 0, sumSq = 0, refSq = 0;
        bool exact = true;
        for (int i = 0; i < reference.Length; i++)
        {
            double e = (double)actual[i] - reference[i];
            if (BitConverter.SingleToUInt32Bits(actual[i]) != BitConverter.SingleToUInt32Bits(reference[i])) exact = false;
            if (double.IsNaN(e)) continue;
            maxAbs = Math.Max(maxAbs, Math.Abs(e));
            sumSq += e * e;
            refSq += (double)reference[i] * reference[i];
        }
        lock (_gate)
        {
            _maxAbs = Math.Max(_maxAbs, maxAbs);
            _sumSq += sumSq;
            _refSq += refSq;
            _n += reference.Length;
            _exact &= exact;
        }
    }

    public TensorError Result
    {
        get
        {
            lock (_gate)
                return new TensorError(_maxAbs, _n == 0 ? 0 : Math.Sqrt(_sumSq / _n), _refSq == 0 ? (_sumSq == 0 ? 0 : double.PositiveInfinity) : Math.Sqrt(_sumSq / _refSq), _n, _exact);
        }
    }
}
