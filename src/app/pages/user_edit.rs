use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, CARD, DangerZone, FormAlert, INPUT, LABEL, PageHeader, TextField,
    action_error, field_error, field_sentence, id_param, refresh_key, show,
};
use crate::server_fns::users::{DeleteUser, SaveUser, load_user_form};
use crate::types::{Role, UserFormOptions};

#[component]
pub fn NewUserPage() -> impl IntoView {
    let data = Resource::new(refresh_key, |_| load_user_form(None));
    view! {
        <Title text="New user"/>
        <PageHeader title="New user".to_string()/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move { show(data.await, |opts| view! { <UserEditor opts/> }) })}
        </Suspense>
    }
}

#[component]
pub fn EditUserPage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(
        move || (refresh_key(), id()),
        |(_, id)| load_user_form(Some(id)),
    );
    view! {
        <Title text="Edit user"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |opts| {
                    let title = opts
                        .user
                        .as_ref()
                        .map(|u| format!("Edit {} {}", u.first_name, u.last_name))
                        .unwrap_or_default();
                    let id = opts.user.as_ref().map(|u| u.id).unwrap_or_default();
                    view! {
                        <PageHeader title=title/>
                        <UserEditor opts/>
                        <DangerZone action={ServerAction::<DeleteUser>::new()} id heading="Delete this user" explanation="The user, their team memberships and their sessions are removed. The audit log keeps its entries." confirm_label="Yes, delete this user" button="Delete user"/>
                    }
                })
            })}
        </Suspense>
    }
}

#[component]
fn UserEditor(opts: UserFormOptions) -> impl IntoView {
    let action = ServerAction::<SaveUser>::new();
    let error = action_error(action);
    let u = opts.user.clone();
    let id = u.as_ref().map(|u| u.id.to_string()).unwrap_or_default();
    let cancel = u
        .as_ref()
        .map(|u| format!("/users/{}", u.id))
        .unwrap_or_else(|| "/users".into());
    let role = u.as_ref().map(|u| u.role).unwrap_or(Role::Participant);
    let member_of: Vec<i32> = u
        .as_ref()
        .map(|u| u.teams.iter().map(|t| t.id).collect())
        .unwrap_or_default();
    let value =
        move |f: fn(&crate::types::UserRow) -> String| u.as_ref().map(f).unwrap_or_default();
    let teams_error = field_error(error, "team_ids");
    let role_error = field_error(error, "role");
    view! {
        <ActionForm action=action attr:class=format!("{CARD} space-y-5")>
            <FormAlert error/>
            <input type="hidden" name="form[id]" value=id/>
            <div class="grid grid-cols-1 gap-4 sm:grid-cols-2">
                <TextField label="First name" name="form[first_name]" value=value(|u| u.first_name.clone()) required=true autocomplete="off" error=field_error(error, "first_name")/>
                <TextField label="Last name" name="form[last_name]" value=value(|u| u.last_name.clone()) required=true autocomplete="off" error=field_error(error, "last_name")/>
                <TextField label="Email" name="form[email]" kind="email" value=value(|u| u.email.clone()) required=true autocomplete="off" error=field_error(error, "email")/>
                <TextField label="Score" name="form[score]" kind="number" value=value(|u| u.score.to_string()) error=field_error(error, "score")/>
            </div>
            <div>
                <label for="f-role" class=LABEL>"Role"</label>
                <select id="f-role" name="form[role]" class=INPUT aria-invalid=move || role_error.get().is_some().then_some("true")>
                    {Role::ALL.into_iter().map(|r| view! {
                        <option value=r.key() selected=r == role>{r.label()}</option>
                    }).collect_view()}
                </select>
                {move || role_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Role", &e)}</p> })}
            </div>
            <fieldset>
                <legend class=LABEL>"Teams"</legend>
                {if opts.teams.is_empty() {
                    view! { <p class="text-sm text-slate-600">"No teams yet. " <a class="underline" href="/teams">"Create one"</a> "."</p> }.into_any()
                } else {
                    view! {
                        <div class="flex flex-wrap gap-x-6 gap-y-2">
                            {opts.teams.iter().map(|t| {
                                let cid = format!("f-team-{}", t.id);
                                view! {
                                    <label for=cid.clone() class="inline-flex items-center gap-2 text-sm">
                                        <input id=cid.clone() type="checkbox" name="form[team_ids][]" value=t.id.to_string() checked=member_of.contains(&t.id) class="h-4 w-4 rounded border-slate-300"/>
                                        {t.name.clone()}
                                    </label>
                                }
                            }).collect_view()}
                        </div>
                    }.into_any()
                }}
                {move || teams_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Teams", &e)}</p> })}
            </fieldset>
            <TextField
                label="Password"
                name="form[password]"
                kind="password"
                autocomplete="new-password"
                hint="Managers sign in with it (at least 10 characters). Leave empty to keep the current one; participants have none."
                error=field_error(error, "password")
            />
            <div class="flex flex-wrap gap-2">
                <button type="submit" class=BUTTON>"Save user"</button>
                <a class=BUTTON_SECONDARY href=cancel>"Cancel"</a>
            </div>
        </ActionForm>
    }
}
