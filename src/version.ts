/** The flame version, printed by `flame --version`. */
export const VERSION = "0.1.0";
