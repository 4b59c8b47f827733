// Times in the current language, in WIB.
import { t } from './i18n.js';
import { formatWib } from './format.js';

export function formatTime(value) {
	return formatWib(value, t('months'), t('time.separator'));
}
