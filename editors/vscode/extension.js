// Starts `ptag lsp` for .ptag files. Plain JavaScript: no build step.
const { workspace } = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate() {
  const command = workspace.getConfiguration("ptag").get("path") || "ptag";
  client = new LanguageClient(
    "ptag",
    "ptag",
    { command, args: ["lsp"] },
    { documentSelector: [{ scheme: "file", language: "ptag" }, { scheme: "untitled", language: "ptag" }] }
  );
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
