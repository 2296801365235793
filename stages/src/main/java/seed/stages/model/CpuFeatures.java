package seed.stages.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What this CPU can do for bf16 matrix products, read from the kernel's CPU flags. bf16 mixed precision pays off only
 * where the CPU multiplies bf16 natively (AMX tiles, or AVX-512 BF16); elsewhere oneDNN and MKL convert to fp32 and back
 * around every product, and bf16 runs far slower than fp32 (training 13x slower on an AVX2-only EPYC, measured).
 * Seed warns once per process instead of letting an operator find that out from a slow run.
 */
public final class CpuFeatures {

    private static final Logger LOG = LoggerFactory.getLogger(CpuFeatures.class);
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    private CpuFeatures() {
    }

    /** The flags line of {@code /proc/cpuinfo} as a set (empty where there is none, as off Linux). */
    public static Set<String> flags() {
        try {
            return flagsOf(Files.readString(Path.of("/proc/cpuinfo")));
        } catch (IOException | RuntimeException e) {
            return Set.of();
        }
    }

    static Set<String> flagsOf(String cpuinfo) {
        for (String line : cpuinfo.split("\n")) {
            if (line.startsWith("flags")) {
                int colon = line.indexOf(':');
                return new TreeSet<>(java.util.Arrays.asList(line.substring(colon + 1).trim().split("\\s+")));
            }
        }
        return Set.of();
    }

    /** Native bf16 matrix units (amx_bf16 or avx512_bf16), or null when the flags are unknown. */
    public static Boolean nativeBf16(Set<String> flags) {
        if (flags.isEmpty()) {
            return null;
        }
        return flags.contains("amx_bf16") || flags.contains("avx512_bf16");
    }

    /** Logs, once per process, that bf16 on this CPU is emulated when the flags say so. */
    static void warnIfBf16IsEmulated() {
        if (!WARNED.get() && Boolean.FALSE.equals(nativeBf16(flags())) && WARNED.compareAndSet(false, true)) {
            LOG.warn("--precision bf16: this CPU has no native bf16 matrix units (neither amx_bf16 nor avx512_bf16 in "
                    + "/proc/cpuinfo), so bf16 products are emulated: training measured ~13x slower than fp32 on an AVX2-only "
                    + "EPYC (PyTorch autocast ~10x); use --precision fp32 here, bf16 on AMX CPUs or GPUs");
        }
    }
}
