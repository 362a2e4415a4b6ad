// Sign in, create an account, confirm it with the emailed code.

import { confirmSignUp, signIn, signUp } from "../auth.js";
import { h, notify, replace } from "../dom.js";

function field(id, label, attributes) {
  return h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, name: id, ...attributes }));
}

function errorBox() {
  return h("p", { class: "error", role: "alert", hidden: true });
}

function showError(box, error) {
  box.textContent = error.message;
  box.hidden = false;
}

export function signInView(main, { config, go, mode = "signin" }) {
  const render = (which, email = "") => {
    const tabs = h(
      "div",
      { class: "tabs", role: "group", "aria-label": "Account" },
      h("a", { href: "#/signin", "aria-current": which === "signin" ? "page" : null }, "Sign in"),
      h("a", { href: "#/signup", "aria-current": which === "signup" ? "page" : null }, "Create account"),
    );
    let form;
    if (which === "signin") {
      const error = errorBox();
      form = h(
        "form",
        { class: "card narrow", "aria-labelledby": "form-title" },
        h("h1", { id: "form-title" }, "Sign in"),
        field("email", "Email", { type: "email", autocomplete: "username", required: true, value: email }),
        field("password", "Password", { type: "password", autocomplete: "current-password", required: true }),
        error,
        h("button", { type: "submit" }, "Sign in"),
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        error.hidden = true;
        const button = form.querySelector("button");
        button.disabled = true;
        try {
          await signIn(config, form.email.value.trim(), form.password.value);
          go("#/jobs");
        } catch (exc) {
          if (exc.code === "UserNotConfirmedException") {
            render("confirm", form.email.value.trim());
            return;
          }
          showError(error, exc);
        } finally {
          button.disabled = false;
        }
      });
    } else if (which === "signup") {
      const error = errorBox();
      form = h(
        "form",
        { class: "card narrow", "aria-labelledby": "form-title" },
        h("h1", { id: "form-title" }, "Create an account"),
        field("email", "Email", { type: "email", autocomplete: "username", required: true, value: email }),
        field("password", "Password", {
          type: "password",
          autocomplete: "new-password",
          required: true,
          minlength: 12,
          "aria-describedby": "password-rules",
        }),
        h("p", { id: "password-rules", class: "hint" }, "At least 12 characters, with upper and lower case letters and a digit."),
        error,
        h("button", { type: "submit" }, "Create account"),
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        error.hidden = true;
        const address = form.email.value.trim();
        try {
          const answer = await signUp(config, address, form.password.value);
          if (answer.UserConfirmed) {
            render("signin", address);
          } else {
            render("confirm", address);
          }
        } catch (exc) {
          showError(error, exc);
        }
      });
    } else {
      const error = errorBox();
      form = h(
        "form",
        { class: "card narrow", "aria-labelledby": "form-title" },
        h("h1", { id: "form-title" }, "Confirm your account"),
        h("p", {}, `A confirmation code was sent to ${email}.`),
        config.local
          ? h("p", { class: "hint" }, "Local stack: no email is sent, and its Cognito accepts any code.")
          : null,
        field("code", "Confirmation code", { inputmode: "numeric", autocomplete: "one-time-code", required: true }),
        error,
        h("button", { type: "submit" }, "Confirm"),
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        error.hidden = true;
        try {
          await confirmSignUp(config, email, form.code.value.trim());
          render("signin", email);
          notify("Account confirmed: sign in.");
        } catch (exc) {
          showError(error, exc);
        }
      });
    }
    replace(main, which === "confirm" ? null : tabs, form);
    form.querySelector("input")?.focus();
  };
  render(mode);
  return () => {};
}
