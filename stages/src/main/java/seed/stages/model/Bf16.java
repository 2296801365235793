package seed.stages.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Differentiable casts to bfloat16 on DJL 0.35.1, whose PyTorch JNI has no code for bf16: {@code toType(BFLOAT16)},
 * {@code create(..., BFLOAT16)} and {@code zeros(..., BFLOAT16)} all abort the JVM in native code ("terminate called
 * without an active exception"). Ops on bf16 tensors and casts back to fp32 work, so what is missing is one bf16
 * tensor to start from.
 *
 * <p>It comes from a three-line TorchScript module ({@code return torch.to(x, 15)}, 15 = torch.bfloat16) whose
 * archive this class writes in memory and loads through DJL's TorchScript loader, once per device: it turns a fp32
 * zero into a bf16 zero. DJL runs TorchScript methods with autograd off, so the module itself cannot be the cast
 * inside the graph; instead a cast is {@code zero.tile(shape).addi(x)}: an in-place add into a fresh bf16 buffer,
 * which libtorch records in the autograd graph (its gradient flows back to the fp32 input, converted to fp32).
 *
 * <p>Back to fp32: DJL's {@code toType(FLOAT32)} on a bf16 array cuts the autograd graph (measured: no gradient
 * reaches the input), so {@link #toFp32} adds an fp32 array of rank >= 1 instead (the bias of a linear layer, or
 * a zero), and type promotion makes the sum fp32. Softmax on bf16 aborts in native code too (its JNI passes a dtype).
 * DJL reports the dtype of a bf16 array as {@link DataType#UNKNOWN}; {@link #isBf16} tells them apart.
 */
final class Bf16 {

    private static final Map<String, NDArray> ZEROS = new ConcurrentHashMap<>();
    private static final NDManager MANAGER = NDManager.newBaseManager();

    private Bf16() {
    }

    /** {@code x} as bfloat16 (a no-op if it is one already); the result lives in {@code x}'s manager. */
    static NDArray cast(NDArray x) {
        if (isBf16(x)) {
            return x;
        }
        Shape shape = x.getShape();
        NDArray zero = zero(x.getDevice(), shape.dimension());
        NDArray buffer = zero.tile(shape.getShape());
        buffer.attach(x.getManager());
        return buffer.addi(x);
    }

    /** {@code x16 + addend} in fp32 ({@code addend} fp32 of rank >= 1, or null for a plain cast), differentiably. */
    static NDArray toFp32(NDArray x16, NDArray addend) {
        if (addend == null) {
            addend = ZEROS.computeIfAbsent(x16.getDevice() + "/fp32", k -> {
                NDArray zero = MANAGER.zeros(new Shape(1), DataType.FLOAT32, x16.getDevice());
                return zero;
            });
        }
        return x16.add(addend);
    }

    static boolean isBf16(NDArray x) {
        return x.getDataType() == DataType.UNKNOWN || x.getDataType() == DataType.BFLOAT16;
    }

    /** A bf16 zero of shape (1, ..., 1) with {@code rank} axes on {@code device}, made once. */
    private static NDArray zero(Device device, int rank) {
        return ZEROS.computeIfAbsent(device + "/" + rank, k -> {
            try (NDManager scratch = MANAGER.newSubManager(device)) {
                PtSymbolBlock module = JniUtils.loadModule((PtNDManager) scratch,
                        new ByteArrayInputStream(archive()), true, false);
                long[] ones = new long[rank];
                java.util.Arrays.fill(ones, 1);
                NDArray fp32 = scratch.zeros(new Shape(ones), DataType.FLOAT32, device);
                NDArray bf16 = IValueUtils.forward(module, new NDList(fp32), false).singletonOrThrow();
                bf16.attach(MANAGER);
                module.close();
                return bf16;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** The TorchScript archive (a zip) of a module whose forward casts to bf16, as torch.jit.save lays it out. */
    private static byte[] archive() {
        String code = """
                class Bf16(Module):
                  __parameters__ = []
                  __buffers__ = []
                  training : bool
                  _is_full_backward_hook : Optional[bool]
                  def forward(self: __torch__.Bf16,
                    x: Tensor) -> Tensor:
                    return torch.to(x, 15)
                """;
        ByteArrayOutputStream pickle = new ByteArrayOutputStream();
        // protocol 2: GLOBAL __torch__.Bf16, NEWOBJ(), {training: True, _is_full_backward_hook: None}, BUILD, STOP
        pickle.writeBytes(new byte[] {(byte) 0x80, 2, 'c'});
        pickle.writeBytes("__torch__\nBf16\n".getBytes(StandardCharsets.US_ASCII));
        pickle.writeBytes(new byte[] {'q', 0, ')', (byte) 0x81, '}', '('});
        writeString(pickle, "training");
        pickle.writeBytes(new byte[] {'q', 1, (byte) 0x88});
        writeString(pickle, "_is_full_backward_hook");
        pickle.writeBytes(new byte[] {'q', 2, 'N', 'u', 'b', 'q', 3, '.'});
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream out = new ZipOutputStream(zip)) {
            put(out, "bf16/data.pkl", pickle.toByteArray());
            put(out, "bf16/code/__torch__.py", code.getBytes(StandardCharsets.UTF_8));
            put(out, "bf16/constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});
            put(out, "bf16/version", "3\n".getBytes(StandardCharsets.US_ASCII));
            put(out, "bf16/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return zip.toByteArray();
    }

    private static void writeString(ByteArrayOutputStream out, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.US_ASCII);
        out.write('X');
        out.writeBytes(new byte[] {(byte) bytes.length, 0, 0, 0});
        out.writeBytes(bytes);
    }

    private static void put(ZipOutputStream out, String name, byte[] data) throws IOException {
        out.putNextEntry(new ZipEntry(name));
        out.write(data);
        out.closeEntry();
    }
}
