using System.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NSwag.CodeGeneration.CSharp;
using NSwag.CodeGeneration.OperationNameGenerators;

namespace Seedance.Server.Tests.Support;

/// <summary>What a customer in another language does with the API documents: validate them, generate a client, compile it.</summary>
public static class OpenApiTools
{
    public const string ClientNamespace = "Customer.Seedance";
    public const string ClientClass = "SeedanceApiClient";

    /// <summary>
    /// Runs @apidevtools/swagger-parser (<c>.ci/openapi-validate.js</c>, installed by <c>./test</c>) on the documents, each
    /// written to a file of its name; its exit code (0 when every document is valid) and what it printed.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> ValidateAsync(params (string Name, string Json)[] documents)
    {
        var modules = Path.Combine(RepositoryRoot.Path, "tools", "openapi-validator", "node_modules");
        Assert.True(Directory.Exists(Path.Combine(modules, "@apidevtools", "swagger-parser")),
            $"The OpenAPI validator is not installed in {modules}: run ./test, or: bash -c 'source .ci/prerequisites.sh && ensure_openapi_validator'");
        var dir = TempDir.Create();
        try
        {
            var files = new List<string>();
            foreach (var (name, json) in documents)
            {
                files.Add(Path.Combine(dir, name + ".json"));
                await File.WriteAllTextAsync(files[^1], json);
            }
            var info = new ProcessStartInfo("node", [Path.Combine(RepositoryRoot.Path, ".ci", "openapi-validate.js"), .. files])
            {
                RedirectStandardOutput = true, RedirectStandardError = true, Environment = { ["NODE_PATH"] = modules },
            };
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await stdout + await stderr);
        }
        finally { TempDir.Delete(dir); }
    }

    /// <summary>The C# client NSwag generates from <paramref name="documentJson"/>: one class, a method per operation named by its operationId.</summary>
    public static async Task<string> GenerateClientAsync(string documentJson)
    {
        var document = await NSwag.OpenApiDocument.FromJsonAsync(documentJson);
        var settings = new CSharpClientGeneratorSettings
        {
            ClassName = ClientClass,
            OperationNameGenerator = new SingleClientFromOperationIdOperationNameGenerator(),
        };
        settings.CSharpGeneratorSettings.Namespace = ClientNamespace;
        return new CSharpClientGenerator(document, settings).GenerateFile();
    }

    /// <summary>
    /// Compiles <paramref name="code"/> as a library against what a customer's program has: the .NET runtime's assemblies
    /// and Newtonsoft.Json, which NSwag's clients use. The assembly is empty when there are errors.
    /// </summary>
    public static (Compilation Compilation, IReadOnlyList<Diagnostic> Errors, byte[] Assembly) Compile(string code)
    {
        var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(path => Path.GetDirectoryName(path) == runtime)
            .Append(typeof(Newtonsoft.Json.JsonConvert).Assembly.Location)
            .Select(path => MetadataReference.CreateFromFile(path));
        var compilation = CSharpCompilation.Create("GeneratedSeedanceClient",
            [CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Latest))], references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        using var assembly = new MemoryStream();
        var emitted = compilation.Emit(assembly);
        return (compilation, emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList(), assembly.ToArray());
    }
}
