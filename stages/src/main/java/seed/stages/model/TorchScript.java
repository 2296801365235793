package seed.stages.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A TorchScript program compiled by libtorch from source text, and run through DJL with autograd: Seed's way to
 * reach libtorch kernels DJL's NDArray API does not expose (fused scaled-dot-product attention, bf16 casts; DJL
 * 0.35.1's JNI aborts the JVM on {@code toType(BFLOAT16)}) and to run a whole forward pass in one native call instead
 * of ~100 (a decode step is dominated by per-op overhead).
 *
 * <p>The program is a module class with no parameters: weights arrive as arguments, so they stay DJL arrays that
 * the optimizer updates and checkpoints save. The archive is written in memory in the layout {@code torch.jit.save}
 * produces (a pickled empty module object plus its code) and compiled once per device. A call passes DJL's
 * {@code isTrain} = the thread's grad mode, so inside a gradient collector libtorch records the program's ops in
 * the autograd graph like any other op (measured: gradients reach the weight arguments), and under {@link NoGrad}
 * nothing is recorded.
 *
 * <p>{@link #call} takes Java values for the program's argument types and returns its tensors.
 */
public final class TorchScript {

    private static final ThreadLocal<Boolean> PLAIN_EXECUTOR = ThreadLocal.withInitial(() -> false);
    private static final Map<String, PtSymbolBlock> COMPILED = new ConcurrentHashMap<>();
    private static final NDManager MANAGER = NDManager.newBaseManager();
    private static final IValue TRUE = IValue.from(true);
    private static final IValue FALSE = IValue.from(false);

    private final PtSymbolBlock module;
    /** Arrays named {@code module_method:METHOD}: how DJL's named-array mapping selects a method. */
    private static final Map<String, NDArray> METHOD_MARKERS = new ConcurrentHashMap<>();
    /** libtorch list values of fixed lists, by identity (see {@link #call}). */
    private final Map<FixedList, IValue> fixedLists = Collections.synchronizedMap(new IdentityHashMap<>());

    private TorchScript(PtSymbolBlock module) {
        this.module = module;
    }

    /** The program {@code source} (TorchScript defining module class {@code className}) compiled for {@code device}. */
    public static TorchScript compile(String className, String source, Device device) {
        PtSymbolBlock module = COMPILED.computeIfAbsent(device + "\n" + source, key -> {
            try {
                NDManager scratch = MANAGER.newSubManager(device);
                return JniUtils.loadModule((PtNDManager) scratch,
                        new ByteArrayInputStream(archive(className, source)), true, false);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (RuntimeException e) {
                throw new IllegalStateException("libtorch refused Seed's TorchScript program: " + e.getMessage(), e);
            }
        });
        return new TorchScript(module);
    }

    /**
     * Runs {@code method} on {@code arguments} in order: an {@link NDArray} is a {@code Tensor} argument, an
     * {@code NDArray[]} or a {@link FixedList} a {@code List[Tensor]}; without
     * recording also a {@link Long} ({@code int}), a {@link Double} ({@code float}), a {@link Boolean} ({@code bool}) or a libtorch value as is (a list
     * the method may change in place). Returns the tensors of the method's {@code List[Tensor]} result, in
     * {@code results}.
     *
     * <p>With the thread's grad mode on, the call goes through DJL's named-array mapping with {@code isTrain}, so
     * libtorch records the ops for backward. With it off (generation, scoring), the arguments are passed as
     * libtorch values directly: DJL's mapping costs ~4 us per array (~250 us for a model's ~50 weights, measured),
     * more than a whole decode step's compute.
     */
    public NDList call(String method, NDManager results, Object... arguments) {
        if (!PLAIN_EXECUTOR.get()) {
            // libtorch's optimizing executor would replace autograd by TorchScript's own symbolic derivatives, which
            // fail on mixed fp32/bf16 linear layers ("expected m1 and m2 to have the same dtype") and re-specialise
            // on every new sequence length; the plain executor runs the ops as written, autograd as in eager mode.
            // The setting is per thread in libtorch.
            JniUtils.setGraphExecutorOptimize(false);
            PLAIN_EXECUTOR.set(true);
        }
        return JniUtils.isGradMode() ? callRecorded(method, results, arguments) : callFast(method, results, arguments);
    }

    /**
     * A {@code List[Tensor]} argument whose libtorch value is built on first use and kept (a model's weights): DJL's
     * conversion costs a few microseconds per array, more than a decode step's compute for ~50 weights. The arrays
     * must stay the same objects (in-place updates are seen); {@link #forget} drops the value.
     */
    record FixedList(NDArray[] arrays) {
    }

    /** Forgets the kept libtorch value of a fixed list (after its arrays were replaced, or before they close). */
    void forget(FixedList weights) {
        IValue cached = fixedLists.remove(weights);
        if (cached != null) {
            cached.close();
        }
    }

    private NDList callRecorded(String method, NDManager results, Object[] arguments) {
        NDList inputs = new NDList();
        NDArray first = null;
        for (int i = 0; i < arguments.length; i++) {
            String name = "a" + i;
            if (arguments[i] instanceof NDArray array) {
                array.setName(name);
                inputs.add(array);
                first = first == null ? array : first;
            } else if (arguments[i] instanceof NDArray[] list) {
                for (NDArray array : list) {
                    array.setName(name + "[]");
                    inputs.add(array);
                }
            } else if (arguments[i] instanceof FixedList fixed) {
                for (NDArray array : fixed.arrays()) {
                    array.setName(name + "[]");
                    inputs.add(array);
                }
            } else {
                throw new IllegalArgumentException("unsupported argument " + arguments[i]);
            }
        }
        if (first == null || first.getManager() != results) {
            throw new IllegalArgumentException("the first tensor argument must live in the results' manager");
        }
        inputs.add(METHOD_MARKERS.computeIfAbsent(method, m -> {
            NDArray marker = MANAGER.create(0f);
            marker.setName("module_method:" + m);
            return marker;
        }));
        return IValueUtils.forward(module, inputs, true); // results land in the first input's manager
    }

    private NDList callFast(String method, NDManager results, Object[] arguments) {
        try (IValue result = callValue(method, arguments)) {
            return result.toNDList((PtNDManager) results);
        }
    }

    /**
     * Runs {@code method} without recording (the thread's grad mode must be off) and returns its result as a libtorch
     * value, which the caller owns: for results that go back into the program as they are (a cache's decode-layout
     * weights). Arguments as for {@link #call}.
     */
    IValue callValue(String method, Object... arguments) {
        if (!PLAIN_EXECUTOR.get()) {
            JniUtils.setGraphExecutorOptimize(false); // see call
            PLAIN_EXECUTOR.set(true);
        }
        IValue[] values = new IValue[arguments.length];
        boolean[] owned = new boolean[arguments.length];
        try {
            for (int i = 0; i < arguments.length; i++) {
                if (arguments[i] instanceof NDArray array) {
                    values[i] = IValue.from((PtNDArray) array);
                    owned[i] = true;
                } else if (arguments[i] instanceof NDArray[] list) {
                    PtNDArray[] tensors = new PtNDArray[list.length];
                    for (int j = 0; j < list.length; j++) {
                        tensors[j] = (PtNDArray) list[j];
                    }
                    values[i] = IValue.listFrom(tensors);
                    owned[i] = true;
                } else if (arguments[i] instanceof IValue value) {
                    values[i] = value; // owned by the caller
                } else if (arguments[i] instanceof Long number) {
                    values[i] = IValue.from(number);
                    owned[i] = true;
                } else if (arguments[i] instanceof Boolean flag) {
                    values[i] = flag ? TRUE : FALSE; // kept: two JNI calls fewer per decode step
                } else if (arguments[i] instanceof Double number) {
                    values[i] = IValue.from(number);
                    owned[i] = true;
                } else if (arguments[i] instanceof FixedList fixed) {
                    values[i] = fixedLists.computeIfAbsent(fixed, f -> {
                        PtNDArray[] tensors = new PtNDArray[f.arrays().length];
                        for (int j = 0; j < tensors.length; j++) {
                            tensors[j] = (PtNDArray) f.arrays()[j];
                        }
                        return IValue.listFrom(tensors);
                    });
                } else {
                    throw new IllegalArgumentException("unsupported argument " + arguments[i]);
                }
            }
            return IValueUtils.runMethod(module, method, values);
        } finally {
            for (int i = 0; i < values.length; i++) {
                if (owned[i] && values[i] != null) {
                    values[i].close();
                }
            }
        }
    }

    /** The TorchScript archive (a zip) of a parameterless module {@code className} with code {@code source}. */
    private static byte[] archive(String className, String source) {
        ByteArrayOutputStream pickle = new ByteArrayOutputStream();
        // protocol 2: GLOBAL __torch__.<class>, NEWOBJ(), {training: True, _is_full_backward_hook: None}, BUILD, STOP
        pickle.writeBytes(new byte[] {(byte) 0x80, 2, 'c'});
        pickle.writeBytes(("__torch__\n" + className + "\n").getBytes(StandardCharsets.US_ASCII));
        pickle.writeBytes(new byte[] {'q', 0, ')', (byte) 0x81, '}', '('});
        writeString(pickle, "training");
        pickle.writeBytes(new byte[] {'q', 1, (byte) 0x88});
        writeString(pickle, "_is_full_backward_hook");
        pickle.writeBytes(new byte[] {'q', 2, 'N', 'u', 'b', 'q', 3, '.'});
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream out = new ZipOutputStream(zip)) {
            put(out, "program/data.pkl", pickle.toByteArray());
            put(out, "program/code/__torch__.py", source.getBytes(StandardCharsets.UTF_8));
            put(out, "program/constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});
            put(out, "program/version", "10\n".getBytes(StandardCharsets.US_ASCII));
            put(out, "program/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
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
