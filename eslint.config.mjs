import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      "artifacts/**",
      "cache/**",
      "dist/**",
      "dist.tmp/**",
      "bin/**",
      ".zkrisk-cache/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // CommonJS entry points (the proving worker thread) load TypeScript through tsx's require hook.
    files: ["**/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: { require: "readonly", module: "writable", __dirname: "readonly" },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // Node scripts in plain ESM: the build and the package test's integrator.
    files: ["**/*.mjs"],
    languageOptions: { sourceType: "module", globals: { process: "readonly" } },
  },
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-restricted-properties": [
        "error",
        { object: "it", property: "only", message: "Focused tests silence the rest of the suite." },
        { object: "describe", property: "only", message: "Focused tests silence the rest of the suite." },
        { object: "test", property: "only", message: "Focused tests silence the rest of the suite." },
      ],
    },
  },
);
