package seed.stages.checkpoint;

import java.util.Arrays;

/**
 * A float32 tensor in Java memory: what checkpoints store and load, independent of any engine or NDManager.
 *
 * @param shape dimensions, row-major
 * @param data  values, length = product of shape
 */
public record HostTensor(long[] shape, float[] data) {

    public HostTensor {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n
                    + " values but " + data.length + " were given");
        }
    }

    public static HostTensor scalar(float value) {
        return new HostTensor(new long[0], new float[] {value});
    }
}
