import Foundation
import CBLAS

public enum BLASInfo {
    /// OpenBLAS's build configuration line (version, DYNAMIC_ARCH, threads) and the CPU kernel
    /// it chose at run time.
    public static var description: String {
        let config = openblas_get_config().map { String(cString: $0) } ?? "unknown"
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        return "\(config.trimmingCharacters(in: .whitespaces)); kernel \(core); \(openblas_get_num_threads()) threads"
    }
}
