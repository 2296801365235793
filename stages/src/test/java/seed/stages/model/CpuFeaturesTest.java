package seed.stages.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

/** Reading native bf16 support off /proc/cpuinfo's flags, for the AMX machines and the AVX2-only EPYCs seen here. */
class CpuFeaturesTest {

    @Test
    void nativeBf16IsAmxOrAvx512Bf16AndUnknownWithoutFlags() {
        Set<String> amd = CpuFeatures.flagsOf("processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 fma\n"
                + "bugs\t\t: sysret_ss_attrs\nprocessor\t: 1\nflags\t\t: fpu\n");
        assertEquals(Set.of("fpu", "sse2", "avx2", "fma"), amd);
        assertFalse(CpuFeatures.nativeBf16(amd));
        assertTrue(CpuFeatures.nativeBf16(CpuFeatures.flagsOf("flags : avx2 avx512f amx_bf16 amx_tile\n")));
        assertTrue(CpuFeatures.nativeBf16(CpuFeatures.flagsOf("flags : avx2 avx512f avx512_bf16\n")));
        assertNull(CpuFeatures.nativeBf16(CpuFeatures.flagsOf("Processor : ARMv7\n")));
    }
}
