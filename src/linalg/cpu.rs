//! What the matrix products run on: the CPU's model, the instruction-set extensions that decide
//! which GEMM kernel runs, and the kernel `gemm` picks from them.
//!
//! `gemm` 0.19 does not say which kernel it chose, so [`kernel`] applies the rule its dispatcher
//! applies (`gemm-common`'s `gemm_def!`, built with the `x86-v4` feature as this crate builds it):
//! AVX-512F if the CPU has it, else AVX2 + FMA if it has FMA, else the portable scalar code. Both
//! read the same run-time detection (`is_x86_feature_detected!`), so the answer is the kernel that
//! ran, as long as `gemm`'s rule is unchanged (Cargo.lock pins the version).

use serde::Serialize;

/// The CPU as a benchmark records it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CpuInfo {
    /// `model name` from /proc/cpuinfo (`"unknown"` where it cannot be read).
    pub model: String,
    /// `cpu family` and `model` from /proc/cpuinfo: under a hypervisor the model name is often
    /// only "AMD EPYC", and these tell the generations apart (AMD family 23 is Zen 1/2, family
    /// 25 model 1 Zen 3 "Milan", model 17 Zen 4 "Genoa", family 26 Zen 5).
    pub family: Option<u32>,
    pub model_number: Option<u32>,
    pub avx2: bool,
    pub avx512f: bool,
    pub fma: bool,
    /// The f32 GEMM kernel `gemm` runs here: `"avx512f"`, `"avx2+fma"` or `"scalar"`.
    pub gemm_kernel: &'static str,
}

/// The kernel `gemm` 0.19 (feature `x86-v4`) selects for f32 on a CPU with these features.
pub fn kernel_for(avx512f: bool, fma: bool) -> &'static str {
    if avx512f {
        "avx512f"
    } else if fma {
        "avx2+fma"
    } else {
        "scalar"
    }
}

/// This machine's CPU and GEMM kernel.
pub fn cpu_info() -> CpuInfo {
    let (avx2, avx512f, fma) = features();
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    CpuInfo {
        model: parse_model(&info).unwrap_or_else(|| "unknown".into()),
        family: parse_number(&info, "cpu family"),
        model_number: parse_number(&info, "model"),
        avx2,
        avx512f,
        fma,
        gemm_kernel: kernel_for(avx512f, fma),
    }
}

#[cfg(target_arch = "x86_64")]
fn features() -> (bool, bool, bool) {
    (
        is_x86_feature_detected!("avx2"),
        is_x86_feature_detected!("avx512f"),
        is_x86_feature_detected!("fma"),
    )
}

#[cfg(not(target_arch = "x86_64"))]
fn features() -> (bool, bool, bool) {
    (false, false, false)
}

/// The first `model name` line of /proc/cpuinfo (Linux x86; other systems name it differently).
fn parse_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))?
        .split_once(':')
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The number on the first line of /proc/cpuinfo whose key is exactly `key`.
fn parse_number(cpuinfo: &str, key: &str) -> Option<u32> {
    cpuinfo.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_follows_gemms_dispatch_order() {
        assert_eq!(kernel_for(true, true), "avx512f");
        assert_eq!(kernel_for(false, true), "avx2+fma");
        assert_eq!(kernel_for(false, false), "scalar");
    }

    #[test]
    fn model_name_is_the_first_model_line() {
        let text = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\
                    processor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(parse_model(text).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(parse_model("processor\t: 0\n"), None);
        assert_eq!(parse_model("model name\t:   \n"), None);
    }

    #[test]
    fn family_and_model_are_their_own_lines_not_the_model_name() {
        let text = "processor\t: 0\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC\n";
        assert_eq!(parse_number(text, "cpu family"), Some(26));
        assert_eq!(parse_number(text, "model"), Some(2));
        // `model name` comes first here: `model` must not match it
        let text = "model name\t: AMD EPYC\nmodel\t\t: 17\n";
        assert_eq!(parse_number(text, "model"), Some(17));
        assert_eq!(parse_number("model\t: x\n", "model"), None);
        assert_eq!(parse_number("", "cpu family"), None);
    }
}
