// Validates OpenAPI documents with @apidevtools/swagger-parser (the structure against the OpenAPI schema of the
// document's version, and every $ref resolved): `node .ci/openapi-validate.js doc.json ...`, with NODE_PATH naming
// the node_modules that .ci/prerequisites.sh (ensure_openapi_validator) installs. Exits 1, naming the problems, when
// any document is invalid.
const SwaggerParser = require("@apidevtools/swagger-parser");

(async () => {
  for (const file of process.argv.slice(2)) {
    try {
      const api = await SwaggerParser.validate(file);
      console.log(`valid: ${file} (OpenAPI ${api.openapi}, ${Object.keys(api.paths || {}).length} paths)`);
    } catch (error) {
      console.error(`invalid: ${file}\n${error.message}`);
      process.exitCode = 1;
    }
  }
})();
