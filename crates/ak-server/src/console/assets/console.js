// The ak console's one script: progressive enhancement only. Every page works without it.
// - [data-copy=ID] buttons copy the value of #ID to the clipboard (the cleartext pages);
// - [data-select-all] checks or unchecks every key checkbox of its form (the key table);
// - textarea[data-json=object] says, while typing, whether its text is a JSON object.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  for (const button of document.querySelectorAll('button[data-copy]')) {
    const source = document.getElementById(button.dataset.copy);
    const status = document.getElementById('copy-status');
    if (!source) continue;
    button.hidden = false;
    button.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(source.value);
        if (status) status.textContent = 'Copied to the clipboard.';
      } catch {
        source.select();
        if (status) status.textContent = 'Copying was not allowed: the key is selected, press Ctrl+C (or ⌘C).';
      }
    });
  }

  for (const box of document.querySelectorAll('input[data-select-all]')) {
    const form = box.closest('form');
    const label = box.closest('label');
    if (label) label.hidden = false;
    box.addEventListener('change', () => {
      for (const item of form.querySelectorAll('input[type=checkbox][name=id]')) item.checked = box.checked;
    });
  }

  for (const area of document.querySelectorAll('textarea[data-json=object]')) {
    const message = document.getElementById(`${area.id}-error`);
    const check = () => {
      let problem = '';
      const text = area.value.trim();
      if (text !== '') {
        try {
          const value = JSON.parse(text);
          if (value === null || typeof value !== 'object' || Array.isArray(value)) {
            problem = 'must be a JSON object, such as {"team": "billing"}';
          }
        } catch (error) {
          problem = `is not valid JSON: ${error.message}`;
        }
      }
      if (message) message.textContent = problem;
      area.setAttribute('aria-invalid', problem ? 'true' : 'false');
    };
    area.addEventListener('input', check);
  }
});
