import type { EmailTemplates } from '../index';

/** French, for `fr` and every `fr-*` locale. */
const fr: EmailTemplates = {
  greeting: (name) => `Bonjour ${name},`,
  verification: {
    subject: 'Confirmez votre adresse e-mail',
    intro: 'Veuillez confirmer votre adresse e-mail en ouvrant ce lien :',
    outro:
      'Le lien fonctionne une seule fois, pendant 24 heures. Si vous n’avez pas créé de compte, ignorez cet e-mail.',
  },
  passwordReset: {
    subject: 'Réinitialisez votre mot de passe',
    intro:
      'Quelqu’un a demandé à réinitialiser le mot de passe de votre compte. Pour en choisir un nouveau, ouvrez ce lien :',
    outro:
      'Le lien fonctionne une seule fois, pendant 1 heure. Si vous n’avez rien demandé, ignorez cet e-mail.',
  },
};

export default fr;
